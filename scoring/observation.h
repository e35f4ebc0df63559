// One upstream resolution as the core sees it: no Unbound types, so the same
// code scores live traffic, replayed traces and tests. Value types.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <absl/container/inlined_vector.h>

#include "ip_address.h"

namespace fluxguard {

inline constexpr std::uint16_t type_a = 1;
inline constexpr std::uint16_t type_ns = 2;
inline constexpr std::uint16_t type_cname = 5;
inline constexpr std::uint16_t type_aaaa = 28;

// A record of the answer section with uncompressed rdata, as a resolver keeps it.
struct Record {
    std::string owner;  // normalised text name (dns_name.h)
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    absl::InlinedVector<std::uint8_t, 16> rdata;  // A and AAAA need no allocation
};

struct AddressAnswer {
    IpAddress address;
    std::uint32_t ttl = 0;
};

struct NameServer {
    std::string name;
    std::uint32_t ttl = 0;  // TTL of the NS record
    std::vector<IpAddress> addresses;
};

struct Observation {
    std::int64_t time = 0;  // seconds since the epoch
    std::string qname;
    std::uint16_t qtype = 0;
    int rcode = 0;
    // qname first, then each CNAME target followed, so back() owns the addresses.
    std::vector<std::string> chain;
    std::vector<AddressAnswer> addresses;
    // The closest delegation the resolver knows for qname ("" when unknown).
    std::string zone;
    std::vector<NameServer> name_servers;

    const std::string& address_owner() const { return chain.empty() ? qname : chain.back(); }
};

// Follows the CNAME chain from `qname` through `answer` (loops and chains
// longer than 16 stop it) and collects the A/AAAA records of its end.
// CNAME rdata is a wire-format name; a malformed one ends the chain.
void follow_answer(Observation& obs, std::span<const Record> answer);

}  // namespace fluxguard
