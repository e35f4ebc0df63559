// Reading the fleet's blocklist and flux pool out of Redis (store/README.md's
// layout plus fluxctl's expiries and allow list), for blocked, status, show
// and export.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "ip_address.h"

namespace fluxguard::cli {

class RedisClient;

struct BlockEntry {
    std::string domain;  // raw bytes, as the store keeps them
    std::int64_t since = 0;
    double score = 0;
    std::string source;  // "detected", "operator", "feed:NAME"; "redis" for a bare ZADD
    std::string reason;
    std::string evidence;      // verdict JSON, when read with evidence
    std::int64_t expires = 0;  // 0: no expiry recorded
};

struct PoolEntry {
    IpAddress address;
    std::int64_t last_seen = 0;
    std::int64_t expires = 0;  // a feed's end for it; 0: none
};

// Every block, in the order they were decided (oldest first).
std::vector<BlockEntry> read_blocks(RedisClient& redis, const Context& context,
                                    bool with_evidence = false);
// Every address in <prefix>pool:addr; members that are not 4 or 16 bytes are
// counted in `malformed` and left out.
std::vector<PoolEntry> read_pool(RedisClient& redis, const Context& context,
                                 std::size_t* malformed = nullptr);
// The allow list: domains (raw bytes).
std::vector<std::string> read_allowed(RedisClient& redis, const Context& context);

}  // namespace fluxguard::cli
