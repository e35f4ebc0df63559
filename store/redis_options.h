// Settings of the Redis fleet store. Plain value type; safe to copy between
// threads. The configuration file parser (module side) fills it and calls
// validate() at start-up, which names every bad value.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluxguard {

// Where a Redis server (or sentinel) listens: TCP host and port, or a Unix
// socket path.
struct RedisEndpoint {
    std::string host;  // name or IP literal; ignored when unix_path is set
    std::uint16_t port = 6379;
    std::string unix_path;  // non-empty: connect to this socket instead

    bool is_unix() const { return !unix_path.empty(); }
    // "host:port", "[v6]:port" or the socket path: for logs and errors.
    std::string to_string() const;

    friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

// Accepts "host", "host:port", "[v6 literal]:port", a bare IPv6 literal, or an
// absolute socket path ("/run/redis/redis.sock"). nullopt when malformed.
std::optional<RedisEndpoint> parse_endpoint(std::string_view text);

struct RedisOptions {
    // The master to use when `sentinels` is empty.
    RedisEndpoint address{"127.0.0.1", 6379, {}};
    // ACL user (Redis 6+); empty: the default user. Needs a password.
    std::string username;
    // Empty: no AUTH. Never written to any log.
    std::string password;
    int database = 0;
    // Prepended to every key and to the pub/sub channel, so several
    // deployments can share one Redis. Must not contain '{' or '}': Redis
    // Cluster takes the first '{' of a key as the start of its hash tag.
    std::string key_prefix = "fluxguard:";

    // High availability: when `sentinels` is set, the master is whatever they
    // report for `sentinel_master`, asked again after every disconnect or
    // READONLY/MASTERDOWN reply (a failover happened).
    std::vector<RedisEndpoint> sentinels;
    std::string sentinel_master;
    std::string sentinel_username;  // when the sentinels themselves need AUTH
    std::string sentinel_password;

    // Separate on purpose: a dead host should be given up on quickly, while a
    // busy one may take a little longer to answer a pipeline.
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{500};

    // Updates waiting for Redis at most; more are dropped and counted. A
    // second, small queue (not configurable) holds blocks and unblocks.
    std::size_t queue_capacity = 65536;
    // Updates sent in one pipeline (one network round trip) at most.
    std::size_t batch_size = 256;
    // How often the local mirror of the blocked set is compared with Redis,
    // catching blocks whose pub/sub message this instance missed.
    std::chrono::milliseconds resync_interval{30'000};
    // Reconnect delay: doubles after each failure from `initial` up to `max`,
    // each delay drawn uniformly from [delay/2, delay] so a fleet does not
    // reconnect in lock step after a Redis restart.
    std::chrono::milliseconds reconnect_backoff_initial{100};
    std::chrono::milliseconds reconnect_backoff_max{10'000};
    // Per-domain state expires this long after the last update, and each
    // address, prefix, ASN, country and name server counts for this long after
    // it was last seen (the fleet's sliding window).
    std::chrono::seconds entry_ttl{86'400};
    // Members kept per collection of one domain (addresses, prefixes, ...):
    // bounds what an attacker-controlled zone can make Redis hold.
    std::size_t max_members_per_domain = 256;

    // A resolver: the store names its connections after this process
    // (CLIENT SETNAME) and keeps it in the fleet's registry of instances with
    // a heartbeat (fleet_instance.h), so `fluxctl status` lists it. fluxctl's
    // own short-lived stores, which only publish decisions, turn it off.
    bool register_instance = true;
};

// Every problem with `options`, one readable line each; empty when usable.
std::vector<std::string> validate(const RedisOptions& options);

// For log lines: where, which database and user; never the password.
std::string describe(const RedisOptions& options);

}  // namespace fluxguard
