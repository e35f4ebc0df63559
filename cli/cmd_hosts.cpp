// `fluxctl hosts`: clients that asked for blocked names or reached the
// sinkhole (the per-host keys the sinkhole and the resolvers write).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "commands.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

int run(const Args& args) {
    const auto limit = args.integer("--limit", 100, 1, 1000000);
    const auto domain_filter = args.value("--domain");
    const auto ctx = load_context(args);
    auto redis = connect(ctx);
    // Most recently seen first.
    auto hosts =
        redis.command({"ZREVRANGE", ctx.keys.hosts(), "0", std::to_string(limit - 1), "WITHSCORES"});
    if (hosts.is_error()) throw RedisClientError("ZREVRANGE " + ctx.keys.hosts() + ": " + hosts.str);
    const auto total = redis.command({"ZCARD", ctx.keys.hosts()}).as_int();
    std::vector<std::pair<std::string, std::int64_t>> list;
    for (std::size_t i = 0; i + 1 < hosts.elements.size(); i += 2)
        list.emplace_back(hosts.elements[i].str, hosts.elements[i + 1].as_int());
    std::vector<Argv> reads;
    for (const auto& [ip, t] : list) {
        const auto keys = ctx.keys.host_keys(ip);
        reads.push_back({"HMGET", keys.hash, "first_seen", "last_seen", "count"});
        reads.push_back({"SMEMBERS", keys.domains});
        reads.push_back({"SMEMBERS", keys.ports});
    }
    const auto r = redis.pipeline(reads);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    Table table({"HOST", "FIRST SEEN", "LAST SEEN", "HITS", "DOMAINS", "PORTS"},
                {false, false, false, true});
    std::size_t shown = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& h = r[3 * i];
        std::vector<std::string> domains, ports;
        for (const auto& d : r[3 * i + 1].elements) domains.push_back(d.str);
        for (const auto& p : r[3 * i + 2].elements) ports.push_back(p.str);
        std::sort(domains.begin(), domains.end());
        std::sort(ports.begin(), ports.end());
        if (domain_filter &&
            std::find(domains.begin(), domains.end(), *domain_filter) == domains.end())
            continue;
        ++shown;
        const auto first = h.is_array() && h.elements.size() == 3 ? h.elements[0].as_int() : 0;
        const auto last =
            h.is_array() && h.elements.size() == 3 ? h.elements[1].as_int() : list[i].second;
        const auto count = h.is_array() && h.elements.size() == 3 ? h.elements[2].as_int() : 0;
        out.push_back({{"host", list[i].first},
                       {"first_seen", first},
                       {"last_seen", last},
                       {"count", count},
                       {"domains", domains},
                       {"ports", ports}});
        auto join = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
            return s.empty() ? std::string("-") : s;
        };
        table.add({list[i].first, iso_time(first), iso_time(last), std::to_string(count),
                   join(domains), join(ports)});
    }
    if (args.flag("--json")) {
        std::cout << ordered_json_text(out, 2) << "\n";
        return 0;
    }
    if (shown == 0) {
        std::cout << fmt::format("no infected hosts{} in {}\n",
                                 domain_filter ? " for " + printable(*domain_filter) : "",
                                 printable(ctx.keys.hosts()));
        return 0;
    }
    std::cout << table.render();
    std::cout << fmt::format("{} host{} shown, {} known\n", shown, shown == 1 ? "" : "s", total);
    return 0;
}

}  // namespace

const Command hosts_command{
    "hosts",
    "hosts [--limit N] [--domain DOMAIN] [--json] [--config FILE]",
    "infected hosts: clients that asked for blocked names or reached the sinkhole",
    "Lists the clients in <prefix>hosts, most recently seen first, with their\n"
    "<prefix>host:{ip} hash (first seen, last seen, hits) and the domains and ports\n"
    "they were seen with (sets written by the sinkhole and the resolvers).",
    {{"--limit", "N", "show the N most recently seen hosts (default 100)"},
     {"--domain", "DOMAIN", "only hosts seen with this domain"},
     kConfigOption,
     kJsonOption},
    run};

}  // namespace fluxguard::cli
