// The indicator formats of `fluxctl export`: an RPZ zone, a STIX 2.1
// bundle, CSV, JSON and passive DNS (Common Output Format). Pure functions of
// what was read from Redis, so the same data always gives the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "indicators.h"

namespace fluxguard::cli {

struct ExportInput {
    std::vector<BlockEntry> blocks;
    std::vector<PoolEntry> pool;
    std::int64_t generated = 0;       // unix seconds; the RPZ serial
    std::uint32_t pool_ttl = 604800;  // how long a pool address stays valid after last seen
    std::string source_note;          // "redis 127.0.0.1:6379 db 0 prefix fluxguard:"
};

// Domains that cannot be written in an output (not a valid DNS name, or too
// long under the zone) are left out and named in `warnings`.
std::string export_rpz(const ExportInput& in, std::string_view zone,
                       std::vector<std::string>& warnings);
std::string export_stix(const ExportInput& in, std::vector<std::string>& warnings);
std::string export_csv(const ExportInput& in);
std::string export_json(const ExportInput& in);

// One passive DNS record (draft-dulaunoy-dnsop-passive-dns-cof).
struct PdnsRecord {
    std::string rrname;
    std::string rrtype;  // "A", "AAAA", "NS"
    std::string rdata;
    std::int64_t time_first = 0;
    std::int64_t time_last = 0;
    std::uint64_t count = 1;
};
std::string export_pdns(const std::vector<PdnsRecord>& records);

// The pattern of a STIX indicator for a domain or an address.
std::string stix_pattern_domain(std::string_view domain);
std::string stix_pattern_address(const IpAddress& address);
// "2024-11-26T10:15:03.000Z"
std::string stix_time(std::int64_t unix_seconds);

}  // namespace fluxguard::cli
