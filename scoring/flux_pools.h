// Pool intelligence: the addresses and name servers seen serving flagged
// domains. A flux family reuses its compromised hosts across domains, so a
// new domain whose first answers land in the pool, or that is delegated to a
// name server in it, belongs to a known family (Notos, USENIX Security 2010,
// related new domains to infrastructure already seen serving bad ones).
// Entries expire `pool-ttl` after they were last added; the pool is capped.
// Thread-safe: lookups take a shared lock, additions an exclusive one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "ip_address.h"

namespace fluxguard {

class FluxPools {
public:
    FluxPools(std::uint32_t ttl_seconds, std::size_t max_entries);

    void add_address(const IpAddress& address, std::int64_t now);
    void add_name_server(const std::string& name, std::int64_t now);

    std::size_t address_hits(std::span<const IpAddress> addresses, std::int64_t now) const;
    bool has_name_server(const std::string& name, std::int64_t now) const;
    bool has_address(const IpAddress& address, std::int64_t now) const;
    std::size_t size() const;
    // Heap bytes, estimated from the entries and the hash tables' buckets.
    std::size_t memory_bytes() const;

private:
    template <typename Map, typename Key>
    void add(Map& map, const Key& key, std::int64_t now);

    std::int64_t ttl_;
    std::size_t max_entries_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<IpAddress, std::int64_t> addresses_;  // -> expiry
    std::unordered_map<std::string, std::int64_t> name_servers_;
};

}  // namespace fluxguard
