// `fluxctl status`: is the fleet's Redis reachable, and how much does it hold.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>

#include "commands.h"
#include "fleet_instance.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

// A resolver instance in the fleet's registry (store/README.md, "Instance
// registry"). Numbers the hash does not hold (it expired between the two
// reads, or a foreign writer left them out) are nullopt.
struct Instance {
    std::string id;
    std::int64_t last_seen = 0;
    std::string host;
    std::string version;
    std::optional<long long> pid, started, submitted, dropped, errors;
};

// The instances heard from within kInstanceTtl, by id: the zset says who and
// when, each one's hash (one pipeline of HMGET) what it reports.
std::vector<Instance> live_instances(RedisClient& redis, const Context& ctx, std::int64_t now) {
    const std::string& set = ctx.keys.instances();
    auto members = redis.command(
        {"ZRANGEBYSCORE", set, std::to_string(now - kInstanceTtl.count()), "+inf", "WITHSCORES"});
    if (members.is_error()) throw RedisClientError("ZRANGEBYSCORE " + set + ": " + members.str);
    std::vector<Instance> out;
    std::vector<Argv> reads;
    for (std::size_t i = 0; i + 1 < members.elements.size(); i += 2) {
        Instance in;
        in.id = members.elements[i].str;
        in.last_seen = members.elements[i + 1].as_int();
        reads.push_back({"HMGET", ctx.keys.instance_key(in.id), "host", "version", "pid", "started",
                         "submitted", "dropped", "errors"});
        out.push_back(std::move(in));
    }
    const auto hashes = redis.pipeline(reads);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto& f = hashes[i].elements;
        if (f.size() != 7) continue;
        auto number = [](const Reply& r) {
            return r.is_nil() ? std::nullopt : std::optional<long long>(r.as_int());
        };
        out[i].host = f[0].text();
        out[i].version = f[1].text();
        out[i].pid = number(f[2]);
        out[i].started = number(f[3]);
        out[i].submitted = number(f[4]);
        out[i].dropped = number(f[5]);
        out[i].errors = number(f[6]);
    }
    std::sort(out.begin(), out.end(),
              [](const Instance& a, const Instance& b) { return a.id < b.id; });
    return out;
}

nlohmann::ordered_json number_or_null(const std::optional<long long>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

std::string number_or_dash(const std::optional<long long>& v) {
    return v ? std::to_string(*v) : "-";
}

// Clocks of resolvers and of this host may differ a little: no negative ages.
std::int64_t age_of(const Instance& in, std::int64_t now) {
    return std::max<std::int64_t>(0, now - in.last_seen);
}

nlohmann::ordered_json instances_json(const std::vector<Instance>& instances, std::int64_t now) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& in : instances) {
        nlohmann::ordered_json j;
        j["id"] = in.id;
        j["host"] = in.host;
        j["pid"] = number_or_null(in.pid);
        j["started"] = number_or_null(in.started);
        j["version"] =
            in.version.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(in.version);
        j["last_seen"] = in.last_seen;
        j["age_s"] = age_of(in, now);
        j["submitted"] = number_or_null(in.submitted);
        j["dropped"] = number_or_null(in.dropped);
        j["errors"] = number_or_null(in.errors);
        list.push_back(std::move(j));
    }
    return list;
}

std::string instances_table(const std::vector<Instance>& instances, std::int64_t now) {
    Table table(
        {"INSTANCE", "HOST", "PID", "HEARTBEAT", "SUBMITTED", "DROPPED", "ERRORS", "VERSION"},
        {false, false, true, true, true, true, true});
    for (const auto& in : instances)
        table.add({printable(in.id), printable(in.host), number_or_dash(in.pid),
                   fmt::format("{} s ago", age_of(in, now)), number_or_dash(in.submitted),
                   number_or_dash(in.dropped), number_or_dash(in.errors),
                   in.version.empty() ? "-" : printable(in.version)});
    return table.render();
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
                                         {"ZCARD", ctx.keys.hosts()},
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
    const auto now = now_seconds();
    const auto instances = live_instances(*redis, ctx, now);
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
    j["instances"] = instances.size();
    j["instance_list"] = instances_json(instances, now);
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
    std::cout << fmt::format("instances          {} with a heartbeat in {} within {} s\n",
                             instances.size(), printable(ctx.keys.instances()),
                             kInstanceTtl.count());
    if (!instances.empty()) std::cout << "\n" << instances_table(instances, now);
    return 0;
}

}  // namespace

const Command status_command{
    "status",
    "status [--json] [--config FILE]",
    "the fleet's Redis: reachable, latency, tracked/blocked domains, pools, hosts, instances",
    "Connects to the Redis named in the configuration and reports its health (PING\n"
    "latency, the median of five) and what the fleet keeps there: domains tracked\n"
    "(one <prefix>{domain}:meta hash each), blocks by source, the flux pools, the\n"
    "allow list, infected hosts, the sinkhole's stream, subscribers of the event\n"
    "channel, and the resolver instances: each one's id, host, pid, the age of its\n"
    "last heartbeat and its store's counters, for those heard from within 90 s.\n"
    "Exit status 1 when Redis cannot be reached.",
    {kConfigOption, kJsonOption},
    run};

}  // namespace fluxguard::cli
