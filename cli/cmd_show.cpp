// `fluxctl show DOMAIN`: everything the fleet knows about one domain.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "commands.h"
#include "dns_name.h"
#include "geo.h"
#include "redis_client.h"
#include "registrable_domain.h"

namespace fluxguard::cli {

namespace {

using ojson = nlohmann::ordered_json;

std::vector<std::pair<std::string, std::int64_t>> pairs(const Reply& r) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out.emplace_back(r.elements[i].str, r.elements[i + 1].as_int());
    return out;
}

std::map<std::string, std::string> hash(const Reply& r) {
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out[r.elements[i].str] = r.elements[i + 1].str;
    return out;
}

std::int64_t field_int(const std::map<std::string, std::string>& h, const std::string& k) {
    auto it = h.find(k);
    if (it == h.end()) return 0;
    Reply r;
    r.type = Reply::Type::string;
    r.str = it->second;
    return r.as_int();
}

// The names a block or allow entry may sit on: the name, then each parent.
std::vector<std::string> self_and_parents(const std::string& name) {
    std::vector<std::string> out;
    for (std::string_view n = name; !n.empty(); n = parent_name(n)) out.emplace_back(n);
    return out;
}

int run(const Args& args) {
    if (args.positional().size() != 1) throw UsageError("expected one DOMAIN");
    const auto name = normalize_name(args.positional()[0]);
    if (!name || name->empty())
        throw UsageError(fmt::format("'{}' is not a domain name", printable(args.positional()[0])));
    const auto ctx = load_context(args);
    const RegistrableDomains psl;
    const std::string domain = psl.of(*name);
    auto redis = connect(ctx);

    const auto keys = ctx.keys.domain_keys(domain);
    const auto candidates = self_and_parents(*name);
    std::vector<Argv> reads = {{"ZRANGE", keys.addr, "0", "-1", "WITHSCORES"},
                               {"ZRANGE", keys.pfx, "0", "-1", "WITHSCORES"},
                               {"ZRANGE", keys.asn, "0", "-1", "WITHSCORES"},
                               {"ZRANGE", keys.cc, "0", "-1", "WITHSCORES"},
                               {"ZRANGE", keys.ns, "0", "-1", "WITHSCORES"},
                               {"HGETALL", keys.meta}};
    for (const auto& c : candidates) reads.push_back({"ZSCORE", ctx.keys.blocked(), c});
    for (const auto& c : candidates) reads.push_back({"ZSCORE", ctx.tool.allow, c});
    const auto r = redis.pipeline(reads);
    for (const auto& reply : r)
        if (reply.is_error()) throw RedisClientError(reply.str);
    // Packed addresses and prefixes in address order, IPv4 first.
    auto by_address = [](std::vector<std::pair<std::string, std::int64_t>> v) {
        std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
            return std::pair(a.first.size(), a.first) < std::pair(b.first.size(), b.first);
        });
        return v;
    };
    const auto addresses = by_address(pairs(r[0]));
    const auto prefixes = by_address(pairs(r[1]));
    auto asns = pairs(r[2]);
    std::sort(asns.begin(), asns.end(), [](const auto& a, const auto& b) {
        return std::pair(a.first.size(), a.first) <
               std::pair(b.first.size(), b.first);  // numeric order
    });
    auto countries = pairs(r[3]);
    std::sort(countries.begin(), countries.end());
    const auto name_servers = pairs(r[4]);
    const auto meta = hash(r[5]);
    // Continents are fields "c:<code>" -> last seen of the meta hash.
    std::vector<std::pair<std::string, std::int64_t>> continents;
    for (const auto& [field, _] : meta)
        if (field.starts_with("c:")) continents.emplace_back(field.substr(2), field_int(meta, field));
    std::optional<std::string> blocked_on, allowed_on;
    std::int64_t blocked_since = 0;
    for (std::size_t i = 0; i < candidates.size() && !blocked_on; ++i)
        if (!r[6 + i].is_nil()) {
            blocked_on = candidates[i];
            blocked_since = r[6 + i].as_int();
        }
    for (std::size_t i = 0; i < candidates.size() && !allowed_on; ++i)
        if (!r[6 + candidates.size() + i].is_nil()) allowed_on = candidates[i];

    std::map<std::string, std::string> block, allow;
    std::int64_t expires = 0;
    if (blocked_on) {
        block = hash(redis.command({"HGETALL", ctx.keys.block_key(*blocked_on)}));
        // A member added by hand has no hash: its score in <prefix>blocked is the since.
        if (block.empty()) block["since"] = std::to_string(blocked_since);
        expires = redis.command({"ZSCORE", ctx.tool.expires, *blocked_on}).as_int();
    }
    if (allowed_on) allow = hash(redis.command({"HGETALL", ctx.tool.allow_entry(*allowed_on)}));

    // Pools, and geo for each address.
    std::vector<Argv> pool_reads;
    for (const auto& [a, t] : addresses) pool_reads.push_back({"ZSCORE", ctx.keys.pool_addr(), a});
    for (const auto& [n, t] : name_servers) pool_reads.push_back({"ZSCORE", ctx.keys.pool_ns(), n});
    const auto pool = redis.pipeline(pool_reads);
    std::optional<GeoDatabase> geo;
    std::string geo_error;
    try {
        geo.emplace(ctx.config.asn_database, ctx.config.country_database);
    } catch (const std::exception& e) {
        geo_error = e.what();
    }

    ojson j;
    j["domain"] = *name;
    j["registrable_domain"] = domain;
    ojson jaddr = ojson::array();
    Table taddr({"ADDRESS", "ASN", "COUNTRY", "LAST SEEN", "IN POOL"}, {false, true});
    std::size_t in_pool = 0;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const auto ip = unpack_address(addresses[i].first);
        GeoInfo g;
        if (ip && geo) g = geo->lookup(*ip);
        const bool pooled = !pool[i].is_nil();
        in_pool += pooled;
        const std::string text =
            ip ? ip->to_string() : "malformed:" + printable(addresses[i].first);
        jaddr.push_back({{"address", text},
                         {"asn", g.asn ? ojson(g.asn) : ojson()},
                         {"country", g.has_country() ? ojson(g.country_code()) : ojson()},
                         {"last_seen", addresses[i].second},
                         {"in_pool", pooled}});
        taddr.add({text, g.asn ? std::to_string(g.asn) : "-",
                   g.has_country() ? g.country_code() : "-", iso_time(addresses[i].second),
                   pooled ? "yes, " + iso_time(pool[i].as_int()) : "no"});
    }
    ojson jns = ojson::array();
    Table tns({"NAME SERVER", "LAST SEEN", "IN POOL"});
    for (std::size_t i = 0; i < name_servers.size(); ++i) {
        const auto& p = pool[addresses.size() + i];
        jns.push_back({{"name", name_servers[i].first},
                       {"last_seen", name_servers[i].second},
                       {"in_pool", !p.is_nil()}});
        tns.add({name_servers[i].first, iso_time(name_servers[i].second),
                 p.is_nil() ? "no" : "yes, " + iso_time(p.as_int())});
    }
    auto set_json = [](const std::vector<std::pair<std::string, std::int64_t>>& v, bool prefix) {
        ojson out = ojson::array();
        for (const auto& [m, t] : v)
            out.push_back({{"value", prefix ? unpack_prefix(m) : m}, {"last_seen", t}});
        return out;
    };
    j["tracked"] = !meta.empty();
    j["meta"] = {{"first_seen", field_int(meta, "first_seen")},
                 {"last_seen", field_int(meta, "last_seen")},
                 {"resolutions", field_int(meta, "resolutions")},
                 {"min_ttl", field_int(meta, "min_ttl")}};
    j["addresses"] = jaddr;
    j["prefixes"] = set_json(prefixes, true);
    j["asns"] = set_json(asns, false);
    j["countries"] = set_json(countries, false);
    j["continents"] = set_json(continents, false);
    j["name_servers"] = jns;
    if (!geo) j["geo_error"] = geo_error;

    ojson jblock;
    nlohmann::json evidence;
    if (blocked_on) {
        jblock = {
            {"on", *blocked_on},
            {"score",
             block.count("score") ? ojson(std::strtod(block["score"].c_str(), nullptr)) : ojson()},
            {"since", field_int(block, "since")},
            {"source", block.count("source") ? block["source"] : "redis"},
            {"reason", block["reason"]},
            {"expires", expires > 0 ? ojson(expires) : ojson()}};
        evidence = nlohmann::json::parse(block["evidence"], nullptr, false);
        if (!evidence.is_discarded() && evidence.is_object())
            jblock["evidence"] = evidence;
        else if (!block["evidence"].empty())
            jblock["evidence_error"] = "the stored verdict is not valid JSON";
    }
    j["block"] = blocked_on ? jblock : ojson();
    j["allow"] = allowed_on ? ojson{{"on", *allowed_on},
                                    {"since", field_int(allow, "since")},
                                    {"who", allow["who"]},
                                    {"reason", allow["reason"]}}
                            : ojson();
    if (args.flag("--json")) {
        std::cout << ordered_json_text(j, 2) << "\n";
        return 0;
    }

    auto& out = std::cout;
    out << fmt::format("domain        {}", printable(*name));
    if (domain != *name) out << fmt::format(" (fleet state is kept for {})", printable(domain));
    out << "\n";
    if (allowed_on)
        out << fmt::format("allowed       {}since {} by {}: {}\n",
                           *allowed_on == *name ? "" : "through " + printable(*allowed_on) + ", ",
                           iso_time(field_int(allow, "since")), printable(allow["who"]),
                           printable(allow["reason"]));
    if (blocked_on) {
        out << fmt::format("blocked       {}since {}, source {}, score {}\n",
                           *blocked_on == *name ? "" : "through " + printable(*blocked_on) + ", ",
                           iso_time(field_int(block, "since")),
                           printable(jblock["source"].get<std::string>()),
                           block.count("score") ? block["score"] : "-");
        if (!block["reason"].empty())
            out << fmt::format("reason        {}\n", printable(block["reason"]));
        if (expires > 0) out << fmt::format("expires       {}\n", iso_time(expires));
    } else {
        out << "blocked       no\n";
    }
    if (meta.empty()) {
        out << fmt::format(
            "tracked       no: nothing under {}{}{}:* (never resolved, or expired)\n",
            printable(ctx.redis.key_prefix),
            "{" + printable(KeyLayout::encode_domain(domain)) + "}", "");
    } else {
        out << fmt::format(
            "first seen    {}\nlast seen     {}\nresolutions   {}\nmin TTL       {} s\n",
            iso_time(field_int(meta, "first_seen")), iso_time(field_int(meta, "last_seen")),
            field_int(meta, "resolutions"), field_int(meta, "min_ttl"));
    }
    auto joined = [](const std::vector<std::pair<std::string, std::int64_t>>& v, bool prefix) {
        std::string s;
        for (const auto& [m, t] : v) s += (s.empty() ? "" : ", ") + (prefix ? unpack_prefix(m) : m);
        return s.empty() ? std::string("-") : printable(s);
    };
    out << fmt::format("ASNs          {}\ncountries     {}\ncontinents    {}\nprefixes      {}\n",
                       joined(asns, false), joined(countries, false), joined(continents, false),
                       joined(prefixes, true));
    out << fmt::format("\naddresses: {}, {} in the flux pool{}\n", addresses.size(), in_pool,
                       geo ? "" : " (no geo data: " + printable(geo_error) + ")");
    if (!taddr.empty()) out << taddr.render();
    out << fmt::format("\nname servers: {}\n", name_servers.size());
    if (!tns.empty()) out << tns.render();
    if (evidence.is_object()) {
        out << fmt::format("\nverdict at {} (trigger {}, {} resolutions, min TTL {} s)\n",
                           iso_time(evidence.value("time", std::int64_t{0})),
                           printable(evidence.value("trigger", std::string("-"))),
                           evidence.value("resolutions", 0), evidence.value("min_ttl", 0));
        Table parts({"FEATURE", "VALUE", "WEIGHT", "FACTOR", "CONTRIBUTION"},
                    {false, true, true, true, true});
        double sum = 0;
        for (const auto& p : evidence.value("parts", nlohmann::json::array())) {
            const double c = p.value("contribution", 0.0);
            sum += c;
            parts.add({p.value("feature", std::string("?")),
                       fmt::format("{:.3f}", p.value("value", 0.0)),
                       fmt::format("{:.2f}", p.value("weight", 0.0)),
                       fmt::format("{:.3f}", p.value("factor", 1.0)), fmt::format("{:.2f}", c)});
        }
        parts.add({"score", "", "", "", fmt::format("{:.2f}", sum)});
        out << parts.render();
        out << fmt::format("threshold {}; flagged when the score is above it\n",
                           format_number(evidence.value("threshold", 0.0)));
        std::string names;
        for (const auto& n : evidence.value("names", nlohmann::json::array()))
            if (n.is_string()) names += (names.empty() ? "" : ", ") + n.get<std::string>();
        if (!names.empty()) out << fmt::format("names seen    {}\n", printable(names));
    }
    return 0;
}

}  // namespace

const Command show_command{
    "show",
    "show DOMAIN [--json] [--config FILE]",
    "one domain's evidence: addresses with ASN and country, sets, block and score parts",
    "Shows what the fleet keeps for DOMAIN: its registrable domain's addresses (with\n"
    "ASN and country from the configuration's mmdb files, and whether each is in the\n"
    "flux pool), prefixes, ASNs, countries, continents and name servers with when each\n"
    "was last seen, first/last seen, resolutions and lowest TTL; the block covering it\n"
    "(on the name or a parent) with each part of the stored verdict's score; and its\n"
    "allow entry, if any.",
    {kConfigOption, kJsonOption},
    run};

}  // namespace fluxguard::cli
