#include "flux_pools.h"

#include <mutex>

#include "heap_bytes.h"

namespace fluxguard {

FluxPools::FluxPools(std::uint32_t ttl_seconds, std::size_t max_entries)
    : ttl_(ttl_seconds), max_entries_(max_entries) {}

template <typename Map, typename Key>
void FluxPools::add(Map& map, const Key& key, std::int64_t now) {
    std::unique_lock lock(mutex_);
    if (addresses_.size() + name_servers_.size() >= max_entries_) {
        // Full: drop what has expired; if nothing has, keep the old pool
        // rather than evict evidence at random.
        std::erase_if(addresses_, [&](const auto& e) { return e.second < now; });
        std::erase_if(name_servers_, [&](const auto& e) { return e.second < now; });
        if (addresses_.size() + name_servers_.size() >= max_entries_ && !map.contains(key)) return;
    }
    map[key] = now + ttl_;
}

void FluxPools::add_address(const IpAddress& address, std::int64_t now) {
    add(addresses_, address, now);
}

void FluxPools::add_name_server(const std::string& name, std::int64_t now) {
    add(name_servers_, name, now);
}

std::size_t FluxPools::address_hits(std::span<const IpAddress> addresses, std::int64_t now) const {
    std::shared_lock lock(mutex_);
    if (addresses_.empty()) return 0;
    std::size_t hits = 0;
    for (const auto& a : addresses)
        if (auto it = addresses_.find(a); it != addresses_.end() && it->second >= now) ++hits;
    return hits;
}

bool FluxPools::has_address(const IpAddress& address, std::int64_t now) const {
    return address_hits(std::span<const IpAddress>(&address, 1), now) > 0;
}

bool FluxPools::has_name_server(const std::string& name, std::int64_t now) const {
    std::shared_lock lock(mutex_);
    auto it = name_servers_.find(name);
    return it != name_servers_.end() && it->second >= now;
}

std::size_t FluxPools::size() const {
    std::shared_lock lock(mutex_);
    return addresses_.size() + name_servers_.size();
}

std::size_t FluxPools::memory_bytes() const {
    std::shared_lock lock(mutex_);
    std::size_t n = (addresses_.bucket_count() + name_servers_.bucket_count()) * sizeof(void*);
    n += addresses_.size() * (sizeof(void*) + sizeof(std::size_t) + sizeof(IpAddress) + sizeof(std::int64_t));
    for (const auto& [name, _] : name_servers_)
        n += sizeof(void*) + sizeof(std::size_t) + sizeof(std::string) + sizeof(std::int64_t) +
             heap_bytes(name);
    return n;
}

}  // namespace fluxguard
