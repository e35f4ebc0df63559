// The store's Lua script (fleet.lua, embedded at build time) and the argument
// vectors of its operations: merge one update, publish a block, publish an
// unblock, record a client's hit, register this instance and leave. Pure
// functions: no I/O, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet_instance.h"
#include "fleet_store.h"
#include "key_layout.h"

struct redisReply;

namespace fluxguard {

// One Redis command as binary-safe arguments (sent with redisAppendCommandArgv).
using RedisArgv = std::vector<std::string>;

namespace fleet_script {

std::string_view source();

// SCRIPT LOAD <source>
RedisArgv load();

// Limits applied inside the script.
struct MergeLimits {
    std::int64_t entry_ttl_seconds = 86400;
    std::size_t max_members = 256;
};

// EVALSHA <sha> 6 <keys of the domain> merge ...: adds the update's
// addresses, /24 or /48 networks, known ASNs and countries and name servers
// (each at most once) and returns the fleet's view of the domain.
RedisArgv merge(std::string_view sha, const KeyLayout& keys, const FleetUpdate& update,
                const MergeLimits& limits);
// The reply of merge() as a view of `domain`; nullopt when malformed.
std::optional<FleetView> parse_merge_reply(const redisReply& reply, std::string domain);

// EVALSHA ... block: blocked ZSET, block hash, pools and PUBLISH of `message`.
RedisArgv block(std::string_view sha, const KeyLayout& keys, const FleetBlock& block,
                std::string_view message, std::int64_t now, std::int64_t window_seconds);
// EVALSHA ... unblock: ZREM, DEL and PUBLISH of `message`.
RedisArgv unblock(std::string_view sha, const KeyLayout& keys, std::string_view domain,
                  std::string_view message);

// EVALSHA ... client: a hit in the per-host view (sinkhole/README.md, "Redis
// layout"), from a resolver (port label "dns") or the sinkhole ("tcp/443").
// An empty domain or port label adds nothing to its set; ttl 0: no expiry.
RedisArgv client(std::string_view sha, const KeyLayout& keys, const ClientHit& hit,
                 std::string_view port_label, std::int64_t ttl_seconds, std::size_t max_members);

// EVALSHA ... heartbeat: `instance` in the registry (<prefix>instances,
// scored by `now`) with a hash of who it is and its counters, which expires
// kInstanceTtl after this heartbeat (fleet_instance.h).
RedisArgv heartbeat(std::string_view sha, const KeyLayout& keys, const FleetInstance& instance,
                    const FleetStats& stats, std::int64_t now);
// EVALSHA ... leave: `instance` out of the registry (ZREM and DEL).
RedisArgv leave(std::string_view sha, const KeyLayout& keys, const FleetInstance& instance);

// Members as stored: 4 or 16 address bytes; 3 (/24) or 6 (/48) network bytes.
std::string packed_address(const IpAddress& address);
std::string packed_network(const IpAddress& address);

}  // namespace fleet_script
}  // namespace fluxguard
