// The data a resolver fleet shares: what one instance saw of a domain, the
// fleet's combined view of it, and blocks. Plain value types, used by the
// engine (scoring/) and by the store that carries them (store/).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ip_address.h"

namespace fluxguard {

// One address seen in an answer, with what the geo databases said of it.
struct Sighting {
    IpAddress address;
    std::uint32_t asn = 0;          // 0: unknown
    std::array<char, 2> country{};  // {0,0}: unknown
    std::array<char, 2> continent{};  // {0,0}: unknown
};

// What one instance learnt about a registrable domain from one resolution.
// Every string here comes from attackers (DNS data).
struct FleetUpdate {
    std::string domain;
    std::int64_t time = 0;  // seconds since the epoch
    std::uint32_t min_ttl = 0;
    std::vector<Sighting> addresses;
    std::vector<std::string> name_servers;  // NS host names of the zone
};

// The fleet's combined state of a domain right after an update was merged.
struct FleetView {
    std::string domain;
    std::uint32_t resolutions = 0;
    std::uint32_t distinct_addresses = 0;
    std::uint32_t distinct_prefixes = 0;  // /24 (IPv4) and /48 (IPv6)
    std::uint32_t distinct_asns = 0;      // unknown ASN not counted
    std::uint32_t distinct_countries = 0; // unknown country not counted
    std::uint32_t distinct_continents = 0;  // unknown continent not counted
    std::uint32_t distinct_name_servers = 0;
    std::uint32_t min_ttl = 0;
    std::int64_t first_seen = 0;
};

// A client asked for a blocked name: the resolver's half of the infected-host
// view the sinkhole fills (sinkhole/README.md has the shared Redis layout).
struct ClientHit {
    std::string domain;  // the name asked for (presentation form)
    std::string client;  // the client's address as text
    std::int64_t time = 0;
};

struct FleetBlock {
    std::string domain;
    double score = 0;
    std::int64_t since = 0;
    std::string source;         // "detected", "operator", "feed"
    std::string reason;         // short, human readable
    std::string evidence_json;  // the verdict line (evidence.h), may be empty
};

}  // namespace fluxguard
