// `fluxctl status`: is the fleet's Redis reachable, and how much does it hold.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "commands.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

// Instances: the proposed <prefix>instances heartbeat set when a store
// writes it; else connections named like a resolver's store; else unknown.
struct Instances {
    std::optional<long long> count;
    std::string how;
};

Instances count_instances(RedisClient& redis, const Context& ctx) {
    const auto now = now_seconds();
    auto hb = redis.command({"ZCOUNT", ctx.tool.instances, std::to_string(now - 90), "+inf"});
    if (!hb.is_error() && hb.integer > 0)
        return {hb.integer, fmt::format("heartbeats in {} within 90 s", ctx.tool.instances)};
    auto list = redis.command({"CLIENT", "LIST"});
    if (list.is_error()) return {std::nullopt, "unknown: CLIENT LIST refused (" + list.str + ")"};
    std::set<std::string> names;
    std::size_t pos = 0;
    const std::string& text = list.str;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        const auto n = line.find(" name=");
        if (n == std::string_view::npos) continue;
        auto name = line.substr(n + 6);
        name = name.substr(0, name.find(' '));
        if (name.starts_with("fluxguard-resolver")) names.insert(std::string(name));
    }
    if (!names.empty())
        return {static_cast<long long>(names.size()),
                "distinct fluxguard-resolver* client names (CLIENT LIST)"};
    return {std::nullopt, "unknown: the store names no connection and writes no heartbeat"};
}

int run(const Args& args) {
    const auto ctx = load_context(args);
    const bool json_out = args.flag("--json");
    nlohmann::ordered_json j;
    j["server"] = describe_target(ctx.redis);
    j["prefix"] = ctx.redis.key_prefix;
    std::optional<RedisClient> redis;
    std::string error;
    try {
        redis.emplace(connect(ctx));
    } catch (const RedisClientError& e) {
        error = e.what();
    }
    if (!redis) {
        j["connected"] = false;
        j["error"] = error;
        if (json_out)
            std::cout << ordered_json_text(j, 2) << "\n";
        else
            std::cout << fmt::format("server      {}\nconnected   no: {}\n",
                                     printable(j["server"].get<std::string>()), error);
        return 1;
    }
    // Latency: the median of five PINGs.
    std::vector<double> rtt;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        redis->command({"PING"});
        rtt.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    std::sort(rtt.begin(), rtt.end());
    std::string version = "?";
    if (auto info = redis->command({"INFO", "server"}); info.is_string()) {
        const auto at = info.str.find("redis_version:");
        if (at != std::string::npos)
            version = info.str.substr(at + 14, info.str.find('\r', at) - at - 14);
    }

    // Tracked domains: one meta hash each.
    long long tracked = 0;
    std::string cursor = "0";
    const std::string match = glob_escape(ctx.redis.key_prefix) + "{*}:meta";
    do {
        auto r = redis->command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
        if (r.is_error() || r.elements.size() != 2) throw RedisClientError("SCAN: " + r.str);
        cursor = r.elements[0].str;
        for (const auto& key : r.elements[1].elements)
            if (ctx.keys.domain_of(key.str) && key.str.ends_with("}:meta")) ++tracked;
    } while (cursor != "0");

    const auto counts = redis->pipeline({{"ZCARD", ctx.keys.blocked()},
                                         {"ZCARD", ctx.keys.pool_addr()},
                                         {"ZCARD", ctx.keys.pool_ns()},
                                         {"ZCARD", ctx.tool.allow},
                                         {"ZCARD", ctx.tool.hosts},
                                         {"XLEN", ctx.tool.sinkhole_hits},
                                         {"PUBSUB", "NUMSUB", ctx.keys.channel()}});
    // Blocks by source.
    std::map<std::string, long long> sources;
    {
        auto members = redis->command({"ZRANGE", ctx.keys.blocked(), "0", "-1"});
        std::vector<Argv> reads;
        for (const auto& m : members.elements)
            reads.push_back({"HGET", ctx.keys.block_key(m.str), "source"});
        for (const auto& r : redis->pipeline(reads)) {
            std::string s = r.is_nil() ? "redis" : r.str;
            if (s.starts_with("feed:")) s = "feed:*";
            ++sources[s];
        }
    }
    const auto instances = count_instances(*redis, ctx);
    const long long subscribers = counts[6].is_array() && counts[6].elements.size() == 2
                                      ? counts[6].elements[1].as_int()
                                      : -1;

    j["connected"] = true;
    j["redis_version"] = version;
    j["ping_ms"] = rtt[rtt.size() / 2];
    j["tracked_domains"] = tracked;
    j["blocked_domains"] = counts[0].as_int();
    j["blocked_by_source"] = sources;
    j["pool_addresses"] = counts[1].as_int();
    j["pool_name_servers"] = counts[2].as_int();
    j["allowed_domains"] = counts[3].as_int();
    j["infected_hosts"] = counts[4].as_int();
    j["sinkhole_hits"] = counts[5].is_error() ? nlohmann::ordered_json()
                                              : nlohmann::ordered_json(counts[5].as_int());
    j["event_subscribers"] = subscribers;
    j["instances"] =
        instances.count ? nlohmann::ordered_json(*instances.count) : nlohmann::ordered_json();
    j["instances_note"] = instances.how;
    if (json_out) {
        std::cout << ordered_json_text(j, 2) << "\n";
        return 0;
    }
    std::string by_source;
    for (const auto& [s, n] : sources)
        by_source += fmt::format("{}{} {}", by_source.empty() ? "" : ", ", n, s);
    std::cout << fmt::format("server             {} (Redis {})\n",
                             printable(j["server"].get<std::string>()), version);
    std::cout << fmt::format("connected          yes, ping {:.3f} ms\n", rtt[rtt.size() / 2]);
    std::cout << fmt::format("key prefix         {}\n", printable(ctx.redis.key_prefix));
    std::cout << fmt::format("tracked domains    {}\n", tracked);
    std::cout << fmt::format("blocked domains    {}{}\n", counts[0].as_int(),
                             by_source.empty() ? "" : " (" + printable(by_source) + ")");
    std::cout << fmt::format("flux pool          {} addresses, {} name servers\n",
                             counts[1].as_int(), counts[2].as_int());
    std::cout << fmt::format("allowed domains    {}\n", counts[3].as_int());
    std::cout << fmt::format("infected hosts     {}\n", counts[4].as_int());
    std::cout << fmt::format(
        "sinkhole hits      {}\n",
        counts[5].is_error() ? "unknown" : std::to_string(counts[5].as_int()) + " in the stream");
    std::cout << fmt::format("event subscribers  {} on {}\n", subscribers,
                             printable(ctx.keys.channel()));
    std::cout << fmt::format(
        "instances          {}\n",
        instances.count ? fmt::format("{} ({})", *instances.count, instances.how) : instances.how);
    return 0;
}

}  // namespace

const Command status_command{
    "status",
    "status [--json] [--config FILE]",
    "the fleet's Redis: reachable, latency, tracked/blocked domains, pools, hosts",
    "Connects to the Redis named in the configuration and reports its health (PING\n"
    "latency, the median of five) and what the fleet keeps there: domains tracked\n"
    "(one <prefix>{domain}:meta hash each), blocks by source, the flux pools, the\n"
    "allow list, infected hosts, the sinkhole's stream, subscribers of the event\n"
    "channel and the resolver instances (when Redis can tell). Exit status 1 when\n"
    "Redis cannot be reached.",
    {kConfigOption, kJsonOption},
    run};

}  // namespace fluxguard::cli
