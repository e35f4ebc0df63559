#include "indicators.h"

#include <cstdlib>
#include <map>

#include "redis_client.h"

namespace fluxguard::cli {

namespace {

double to_double(const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    return end == s.c_str() ? 0.0 : v;
}

// ZRANGE key 0 -1 WITHSCORES as (member, score) pairs.
std::vector<std::pair<std::string, std::int64_t>> zrange(RedisClient& redis,
                                                         const std::string& key) {
    const auto r = redis.command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
    if (r.is_error()) throw RedisClientError("ZRANGE " + key + ": " + r.str);
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out.emplace_back(r.elements[i].str, r.elements[i + 1].as_int());
    return out;
}

}  // namespace

std::vector<BlockEntry> read_blocks(RedisClient& redis, const Context& context,
                                    bool with_evidence) {
    const auto members = zrange(redis, context.keys.blocked());
    std::vector<Argv> reads;
    for (const auto& [domain, since] : members) {
        Argv hmget = {"HMGET", context.keys.block_key(domain), "score", "since", "source",
                      "reason"};
        if (with_evidence) hmget.push_back("evidence");
        reads.push_back(std::move(hmget));
    }
    const auto replies = redis.pipeline(reads);
    std::map<std::string, std::int64_t> expiries;
    for (auto& [d, t] : zrange(redis, context.tool.expires)) expiries[d] = t;
    std::vector<BlockEntry> out;
    for (std::size_t i = 0; i < members.size(); ++i) {
        BlockEntry b;
        b.domain = members[i].first;
        b.since = members[i].second;
        b.source = "redis";  // a member with no hash (written by hand): what the store calls it
        const auto& r = replies[i];
        if (r.is_array() && r.elements.size() >= 4) {
            if (!r.elements[0].is_nil()) b.score = to_double(r.elements[0].str);
            if (!r.elements[2].is_nil()) b.source = r.elements[2].str;
            b.reason = r.elements[3].str;
            if (with_evidence && r.elements.size() == 5) b.evidence = r.elements[4].str;
        }
        if (auto it = expiries.find(b.domain); it != expiries.end()) b.expires = it->second;
        out.push_back(std::move(b));
    }
    return out;
}

std::vector<PoolEntry> read_pool(RedisClient& redis, const Context& context,
                                 std::size_t* malformed) {
    std::map<std::string, std::int64_t> expiries;
    for (auto& [a, t] : zrange(redis, context.tool.expires_addr)) expiries[a] = t;
    std::vector<PoolEntry> out;
    std::size_t bad = 0;
    for (const auto& [member, seen] : zrange(redis, context.keys.pool_addr())) {
        auto ip = unpack_address(member);
        if (!ip) {
            ++bad;
            continue;
        }
        PoolEntry e{*ip, seen, 0};
        if (auto it = expiries.find(member); it != expiries.end()) e.expires = it->second;
        out.push_back(e);
    }
    if (malformed) *malformed = bad;
    return out;
}

std::vector<std::string> read_allowed(RedisClient& redis, const Context& context) {
    std::vector<std::string> out;
    for (auto& [d, t] : zrange(redis, context.tool.allow)) out.push_back(d);
    return out;
}

}  // namespace fluxguard::cli
