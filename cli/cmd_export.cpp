// `fluxctl export`: the fleet's indicators for other tools: an RPZ zone for
// any resolver, a STIX 2.1 bundle, CSV, JSON, and passive DNS records.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "dns_name.h"
#include "export_formats.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

// Written next to the target and renamed over it, so a resolver reloading
// the zone never reads half a file.
void write_atomically(const std::string& path, const std::string& text) {
    const auto tmp = fmt::format("{}.tmp.{}", path, getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw std::runtime_error(fmt::format("{}: cannot write", tmp));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp);
        throw std::runtime_error(fmt::format("{}: cannot replace: {}", path, ec.message()));
    }
}

std::vector<PdnsRecord> passive_dns(RedisClient& redis, const Context& ctx,
                                    const std::vector<BlockEntry>& blocks) {
    std::vector<Argv> reads;
    for (const auto& b : blocks) {
        const auto k = ctx.keys.domain_keys(b.domain);
        reads.push_back({"ZRANGE", k.addr, "0", "-1", "WITHSCORES"});
        reads.push_back({"ZRANGE", k.ns, "0", "-1", "WITHSCORES"});
        reads.push_back({"HGET", k.meta, "first_seen"});
    }
    const auto r = redis.pipeline(reads);
    std::vector<PdnsRecord> out;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto first_seen = r[3 * i + 2].as_int();
        auto add = [&](const Reply& set, bool addresses) {
            for (std::size_t k = 0; k + 1 < set.elements.size(); k += 2) {
                PdnsRecord rec;
                rec.rrname = blocks[i].domain;
                rec.time_last = set.elements[k + 1].as_int();
                // The store keeps when each record was last seen; the
                // domain's first sighting bounds when it was first seen.
                rec.time_first = first_seen > 0 ? std::min<std::int64_t>(first_seen, rec.time_last)
                                                : rec.time_last;
                if (addresses) {
                    auto ip = unpack_address(set.elements[k].str);
                    if (!ip) continue;
                    rec.rrtype = ip->family() == IpAddress::Family::v4 ? "A" : "AAAA";
                    rec.rdata = ip->to_string();
                } else {
                    rec.rrtype = "NS";
                    rec.rdata = set.elements[k].str;
                }
                out.push_back(std::move(rec));
            }
        };
        add(r[3 * i], true);
        add(r[3 * i + 1], false);
    }
    return out;
}

int run(const Args& args) {
    const auto format = args.value("--format");
    if (!format) throw UsageError("--format is required: rpz, stix, csv, json or pdns");
    if (*format != "rpz" && *format != "stix" && *format != "csv" && *format != "json" &&
        *format != "pdns")
        throw UsageError(
            fmt::format("--format '{}': expected rpz, stix, csv, json or pdns", *format));
    const std::string zone = args.value("--zone").value_or("rpz.fluxguard");
    if (auto z = normalize_name(zone); !z || z->empty() || !name_to_wire(*z))
        throw UsageError(fmt::format("--zone '{}' is not a domain name", zone));
    if (args.value("--zone") && *format != "rpz")
        throw UsageError("--zone applies to --format rpz only");
    const auto ctx = load_context(args);
    auto redis = connect(ctx);

    ExportInput in;
    in.generated = now_seconds();
    in.pool_ttl = ctx.config.scoring.pool_ttl;
    in.source_note =
        fmt::format("redis {} prefix {}", describe_target(ctx.redis), ctx.redis.key_prefix);
    in.blocks = read_blocks(redis, ctx);
    std::size_t malformed_pool = 0;
    in.pool = read_pool(redis, ctx, &malformed_pool);
    std::vector<std::string> warnings;
    if (malformed_pool)
        warnings.push_back(fmt::format("{} pool members are not 4- or 16-byte addresses: left out",
                                       malformed_pool));
    // What an operator allowed is never exported as bad.
    const auto allowed = read_allowed(redis, ctx);
    std::erase_if(in.blocks, [&](const BlockEntry& b) {
        if (!covering_entry(b.domain, allowed)) return false;
        warnings.push_back(fmt::format("{} is allowed: left out", printable(b.domain)));
        return true;
    });

    std::string text;
    if (*format == "rpz")
        text = export_rpz(in, *normalize_name(zone), warnings);
    else if (*format == "stix")
        text = export_stix(in, warnings);
    else if (*format == "csv")
        text = export_csv(in);
    else if (*format == "json")
        text = export_json(in);
    else
        text = export_pdns(passive_dns(redis, ctx, in.blocks));

    for (const auto& w : warnings) std::cerr << "fluxctl export: " << w << "\n";
    if (auto path = args.value("--output"); path && *path != "-") {
        write_atomically(*path, text);
        std::cerr << fmt::format(
            "fluxctl export: wrote {} ({} blocked domains, {} pool addresses) to {}\n", *format,
            in.blocks.size(), in.pool.size(), *path);
    } else {
        std::cout << text;
    }
    return 0;
}

}  // namespace

const Command export_command{
    "export",
    "export --format rpz|stix|csv|json|pdns [--zone NAME] [--output FILE] [--config FILE]",
    "blocked domains and flux pool addresses as RPZ, STIX 2.1, CSV, JSON or passive DNS",
    "Writes the fleet's indicators: every blocked domain (allowed ones left out) and\n"
    "every flux pool address.\n"
    "  rpz   a response policy zone any RPZ resolver (Unbound's rpz:, BIND's\n"
    "        response-policy) loads as it is: \"domain CNAME .\" and \"*.domain CNAME .\"\n"
    "        (NXDOMAIN for the domain and every name below it) and\n"
    "        \"32.d.c.b.a.rpz-ip CNAME .\" for pool addresses; the SOA serial is the\n"
    "        export time. --zone names the zone (default rpz.fluxguard).\n"
    "  stix  a STIX 2.1 bundle of indicators ([domain-name:value = '...'],\n"
    "        [ipv4-addr:value = '...']) with ids that are the same for the same data.\n"
    "  csv   type,indicator,since,score,source,reason,expires\n"
    "  json  {\"domains\": [...], \"addresses\": [...]}\n"
    "  pdns  passive DNS, Common Output Format (JSON lines: rrname, rrtype, rdata,\n"
    "        time_first, time_last, count) of the blocked domains' addresses and\n"
    "        name servers as the fleet saw them.\n"
    "--output replaces FILE atomically (write, then rename), for cron jobs feeding a\n"
    "resolver.",
    {{"--format", "F", "rpz, stix, csv, json or pdns (required)"},
     {"--zone", "NAME", "the RPZ zone's name (default rpz.fluxguard)"},
     {"--output", "FILE", "write to FILE (atomically) instead of standard output"},
     kConfigOption},
    run};

}  // namespace fluxguard::cli
