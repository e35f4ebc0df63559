#include "fleet_script.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include "fleet_lua.h"

namespace fluxguard::fleet_script {

namespace {

std::string decimal(std::int64_t v) { return std::to_string(v); }

std::string decimal(double v) {
    char buf[64];
    // Shortest text that reads back as the same double.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

// Count, then members: the script walks ARGV with these counts.
void append_members(RedisArgv& argv, const std::set<std::string>& members) {
    argv.push_back(std::to_string(members.size()));
    argv.insert(argv.end(), members.begin(), members.end());
}

std::optional<std::int64_t> integer_of(const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_INTEGER) return std::nullopt;
    return r->integer;
}

std::uint32_t clamp_u32(std::int64_t v) {
    return static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(v, 0, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

std::string_view source() { return generated::kFleetLua; }

RedisArgv load() { return {"SCRIPT", "LOAD", std::string(source())}; }

std::string packed_address(const IpAddress& address) {
    const auto b = address.bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string packed_network(const IpAddress& address) {
    const IpAddress network = address.network_prefix();  // bytes() is a view into it
    const auto b = network.bytes();
    const std::size_t keep = address.family() == IpAddress::Family::v4 ? 3 : 6;
    return std::string(reinterpret_cast<const char*>(b.data()), keep);
}

RedisArgv client(std::string_view sha, const KeyLayout& keys, const ClientHit& hit,
                 std::string_view port_label, std::int64_t ttl_seconds, std::size_t max_members) {
    const auto host = keys.host_keys(hit.client);
    return {"EVALSHA",
            std::string(sha),
            "4",
            host.hash,
            host.domains,
            host.ports,
            keys.hosts(),
            "client",
            decimal(hit.time),
            hit.domain,
            std::string(port_label),
            std::to_string(max_members),
            decimal(ttl_seconds),
            hit.client};
}

RedisArgv merge(std::string_view sha, const KeyLayout& keys, const FleetUpdate& update,
                const MergeLimits& limits) {
    const auto k = keys.domain_keys(update.domain);
    RedisArgv argv{"EVALSHA", std::string(sha), "6", k.addr, k.pfx, k.asn, k.cc, k.ns, k.meta};
    argv.push_back("merge");
    argv.push_back(decimal(update.time));
    argv.push_back(decimal(static_cast<std::int64_t>(update.min_ttl)));
    argv.push_back(decimal(limits.entry_ttl_seconds));
    argv.push_back(std::to_string(limits.max_members));

    std::set<std::string> addrs, nets, asns, countries, continents, names;
    for (const auto& s : update.addresses) {
        addrs.insert(packed_address(s.address));
        nets.insert(packed_network(s.address));
        if (s.asn != 0) asns.insert(std::to_string(s.asn));
        if (s.country[0] != 0 && s.country[1] != 0)
            countries.insert(std::string(s.country.data(), 2));
        if (s.continent[0] != 0 && s.continent[1] != 0)
            continents.insert(std::string(s.continent.data(), 2));
    }
    for (const auto& n : update.name_servers)
        if (!n.empty()) names.insert(n);
    append_members(argv, addrs);
    append_members(argv, nets);
    append_members(argv, asns);
    append_members(argv, countries);
    append_members(argv, names);
    append_members(argv, continents);
    return argv;
}

std::optional<FleetView> parse_merge_reply(const redisReply& reply, std::string domain) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 9) return std::nullopt;
    std::int64_t v[9];
    for (std::size_t i = 0; i < 9; ++i) {
        auto n = integer_of(reply.element[i]);
        if (!n) return std::nullopt;
        v[i] = *n;
    }
    FleetView view;
    view.domain = std::move(domain);
    view.resolutions = clamp_u32(v[0]);
    view.distinct_addresses = clamp_u32(v[1]);
    view.distinct_prefixes = clamp_u32(v[2]);
    view.distinct_asns = clamp_u32(v[3]);
    view.distinct_countries = clamp_u32(v[4]);
    view.distinct_name_servers = clamp_u32(v[5]);
    view.min_ttl = clamp_u32(v[6]);
    view.first_seen = v[7];
    view.distinct_continents = clamp_u32(v[8]);
    return view;
}

RedisArgv block(std::string_view sha, const KeyLayout& keys, const FleetBlock& b,
                std::string_view message, std::int64_t now, std::int64_t window_seconds) {
    const auto k = keys.domain_keys(b.domain);
    return {"EVALSHA",
            std::string(sha),
            "6",
            keys.blocked(),
            keys.block_key(b.domain),
            keys.pool_addr(),
            keys.pool_ns(),
            k.addr,
            k.ns,
            "block",
            b.domain,
            decimal(b.since),
            decimal(b.score),
            b.source,
            b.reason,
            b.evidence_json,
            keys.channel(),
            std::string(message),
            decimal(now),
            decimal(window_seconds)};
}

RedisArgv unblock(std::string_view sha, const KeyLayout& keys, std::string_view domain,
                  std::string_view message) {
    return {"EVALSHA",           std::string(sha),       "2",
            keys.blocked(),      keys.block_key(domain), "unblock",
            std::string(domain), keys.channel(),         std::string(message)};
}

RedisArgv heartbeat(std::string_view sha, const KeyLayout& keys, const FleetInstance& instance,
                    const FleetStats& stats, std::int64_t now) {
    const std::string id = instance.id();
    RedisArgv argv{"EVALSHA",
                   std::string(sha),
                   "2",
                   keys.instances(),
                   keys.instance_key(id),
                   "heartbeat",
                   id,
                   decimal(now),
                   decimal(kInstanceHistory.count()),
                   decimal(kInstanceTtl.count()),
                   "host",
                   instance.host,
                   "pid",
                   decimal(instance.pid),
                   "started",
                   decimal(instance.started),
                   "submitted",
                   std::to_string(stats.submitted),
                   "dropped",
                   std::to_string(stats.dropped),
                   "errors",
                   std::to_string(stats.errors)};
    if (!instance.version.empty()) {
        argv.push_back("version");
        argv.push_back(instance.version);
    }
    return argv;
}

RedisArgv leave(std::string_view sha, const KeyLayout& keys, const FleetInstance& instance) {
    const std::string id = instance.id();
    return {"EVALSHA", std::string(sha), "2", keys.instances(), keys.instance_key(id), "leave", id};
}

}  // namespace fluxguard::fleet_script
