// `fluxctl import`: threat-intel feeds into the fleet: each domain becomes a
// block (source "feed:NAME", through the store, with its expiry), each
// address joins the flux pool. Every file is parsed before anything is
// written, and every line that is not imported is reported with file:line.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "feed_parser.h"
#include "fleet_publisher.h"
#include "indicators.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

struct FileReport {
    std::string path;
    FeedResult parsed;
    std::size_t domains = 0, addresses = 0, malformed = 0, refused = 0, skipped = 0;
};

bool valid_source_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

int run(const Args& args) {
    const auto source_name = args.value("--source");
    if (!source_name || !valid_source_name(*source_name))
        throw UsageError("--source NAME is required: letters, digits, '.', '-', '_' (at most 64)");
    if (!args.value("--expires"))
        throw UsageError("--expires SECONDS is required (0: the blocks never expire)");
    const auto expires_in = args.integer("--expires", 0, 0, 10LL * 365 * 86400);
    auto format = FeedFormat::automatic;
    if (auto f = args.value("--format")) {
        auto parsed = parse_feed_format(*f);
        if (!parsed)
            throw UsageError(
                fmt::format("--format '{}': expected auto, list, hosts, csv or rpz", *f));
        format = *parsed;
    }
    if (args.positional().empty())
        throw UsageError("expected at least one FILE ('-' reads standard input)");
    const bool dry = args.flag("--dry-run");
    const bool json_out = args.flag("--json");
    const std::string source = "feed:" + *source_name;
    const std::string reason = args.value("--reason").value_or("listed by feed " + *source_name);
    const auto who = operator_name(args);
    const auto ctx = load_context(args);

    // 1. Parse everything; an unreadable file stops the import before any write.
    const FeedChecker checker;
    std::vector<FileReport> files;
    for (const auto& path : args.positional()) {
        std::stringstream text;
        if (path == "-") {
            text << std::cin.rdbuf();
        } else {
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                std::cerr << fmt::format("fluxctl import: {}: cannot read: {}\n", path,
                                         std::strerror(errno));
                return 2;
            }
            text << in.rdbuf();
        }
        FileReport f{path, parse_feed(text.str(), format, path, checker)};
        for (const auto& p : f.parsed.problems) {
            const char* what = p.kind == FeedProblem::Kind::malformed ? "malformed"
                               : p.kind == FeedProblem::Kind::refused ? "refused"
                                                                      : "skipped";
            std::cerr << fmt::format("fluxctl import: {}:{}: {}: {} (line skipped)\n", path, p.line,
                                     what, p.message);
            (p.kind == FeedProblem::Kind::malformed ? f.malformed
             : p.kind == FeedProblem::Kind::refused ? f.refused
                                                    : f.skipped)++;
        }
        for (const auto& i : f.parsed.indicators) (i.address ? f.addresses : f.domains)++;
        files.push_back(std::move(f));
    }

    // 2. One entry per domain and address, first sighting wins.
    std::vector<std::pair<std::string, std::string>> domains;  // domain, "file:line"
    std::vector<IpAddress> addresses;
    {
        std::set<std::string> seen_d;
        std::set<IpAddress> seen_a;
        for (const auto& f : files)
            for (const auto& i : f.parsed.indicators) {
                if (i.address) {
                    if (seen_a.insert(*i.address).second) addresses.push_back(*i.address);
                } else if (seen_d.insert(i.domain).second) {
                    domains.emplace_back(i.domain, fmt::format("{}:{}", f.path, i.line));
                }
            }
    }

    // 3. Against the fleet: allowed, already blocked (by whom), new.
    const auto now = now_seconds();
    const auto expiry = expires_in > 0 ? now + expires_in : 0;
    std::vector<std::string> allowed_skips, kept, refreshed;
    std::vector<FleetBlock> blocks;
    PublishResult published;
    std::size_t pool_added = 0;
    std::vector<std::string> config_allow = ctx.config.allow;
    if (!dry) {
        auto redis = connect(ctx);
        auto allow = read_allowed(redis, ctx);
        allow.insert(allow.end(), config_allow.begin(), config_allow.end());
        std::map<std::string, std::string> current;  // blocked domain -> source
        for (auto& b : read_blocks(redis, ctx)) current[b.domain] = b.source;
        for (const auto& [d, where] : domains) {
            if (auto a = covering_entry(d, allow)) {
                std::cerr << fmt::format("fluxctl import: {}: {} is allowed{}: not blocked\n",
                                         where, d, *a == d ? "" : " (through " + *a + ")");
                allowed_skips.push_back(d);
                continue;
            }
            auto it = current.find(d);
            if (it == current.end())
                blocks.push_back(FleetBlock{d, 0.0, now, source, reason, ""});
            else if (it->second.starts_with("feed:"))
                refreshed.push_back(d);
            else
                kept.push_back(d);  // detected or operator: not the feed's to change
        }
        // Expiries before the blocks: a block never exists without its end.
        std::vector<Argv> writes;
        for (const auto& b : blocks)
            writes.push_back(
                expiry ? Argv{"ZADD", ctx.tool.expires, "GT", std::to_string(expiry), b.domain}
                       : Argv{"ZREM", ctx.tool.expires, b.domain});
        for (const auto& d : refreshed)
            writes.push_back(expiry
                                 ? Argv{"ZADD", ctx.tool.expires, "GT", std::to_string(expiry), d}
                                 : Argv{"ZREM", ctx.tool.expires, d});
        // Addresses: in the pool as seen now (aged out with the pool's
        // window like every entry), their feed's end kept for expire.
        for (const auto& a : addresses) {
            writes.push_back({"ZADD", ctx.keys.pool_addr(), "GT", std::to_string(now), packed(a)});
            if (expiry)
                writes.push_back(
                    {"ZADD", ctx.tool.expires_addr, "GT", std::to_string(expiry), packed(a)});
        }
        for (const auto& r : redis.pipeline(writes))
            if (r.is_error()) throw RedisClientError(r.str);
        pool_added = addresses.size();
        if (!blocks.empty()) {
            FleetPublisher publisher(ctx.redis, redis);
            published = publisher.block(blocks);
            for (const auto& d : published.failed)
                std::cerr << fmt::format("fluxctl import: block of {} not confirmed by the store\n",
                                         printable(d));
            std::vector<Argv> who_writes;
            for (const auto& b : blocks)
                who_writes.push_back({"HSET", ctx.keys.block_key(b.domain), "who", who});
            redis.pipeline(who_writes);
        }
        std::string paths;
        for (const auto& f : files) paths += (paths.empty() ? "" : " ") + f.path;
        audit(redis, ctx.tool,
              {{"action", "import"},
               {"source", source},
               {"who", who},
               {"reason", reason},
               {"files", paths},
               {"blocked", std::to_string(blocks.size() - published.failed.size())},
               {"refreshed", std::to_string(refreshed.size())},
               {"addresses", std::to_string(pool_added)},
               {"expires", expiry ? std::to_string(expiry) : ""}});
    }

    std::size_t malformed = 0, refused = 0;
    for (const auto& f : files) {
        malformed += f.malformed;
        refused += f.refused;
    }
    const std::size_t blocked_new = blocks.size() - published.failed.size();
    if (json_out) {
        nlohmann::ordered_json jf = nlohmann::ordered_json::array();
        for (const auto& f : files)
            jf.push_back({{"file", f.path},
                          {"format", to_string(f.parsed.format)},
                          {"domains", f.domains},
                          {"addresses", f.addresses},
                          {"malformed", f.malformed},
                          {"refused", f.refused},
                          {"skipped", f.skipped},
                          {"ignored", f.parsed.ignored}});
        nlohmann::ordered_json problems = nlohmann::ordered_json::array();
        for (const auto& f : files)
            for (const auto& p : f.parsed.problems)
                problems.push_back({{"file", f.path},
                                    {"line", p.line},
                                    {"kind", p.kind == FeedProblem::Kind::malformed ? "malformed"
                                             : p.kind == FeedProblem::Kind::refused ? "refused"
                                                                                    : "skipped"},
                                    {"message", p.message}});
        std::cout << json_text({{"source", source},
                                {"dry_run", dry},
                                {"files", jf},
                                {"problems", problems},
                                {"domains", domains.size()},
                                {"addresses", addresses.size()},
                                {"blocked", blocked_new},
                                {"refreshed", refreshed.size()},
                                {"kept", kept.size()},
                                {"allowed", allowed_skips.size()},
                                {"failed", published.failed},
                                {"expires", expiry ? nlohmann::json(expiry) : nlohmann::json()}},
                               2)
                  << "\n";
    } else {
        Table t({"FILE", "FORMAT", "DOMAINS", "ADDRESSES", "MALFORMED", "REFUSED", "SKIPPED"},
                {false, false, true, true, true, true, true});
        for (const auto& f : files)
            t.add({f.path, std::string(to_string(f.parsed.format)), std::to_string(f.domains),
                   std::to_string(f.addresses), std::to_string(f.malformed),
                   std::to_string(f.refused), std::to_string(f.skipped)});
        std::cout << t.render();
        if (dry) {
            std::cout << fmt::format(
                "dry run: {} domains and {} addresses would be imported as {}\n", domains.size(),
                addresses.size(), source);
        } else {
            std::cout << fmt::format(
                "{}: {} domains blocked, {} already blocked by the feed (expiry extended), {} kept "
                "(blocked by "
                "detection or an operator), {} allowed (not blocked); {} addresses in the flux "
                "pool; {}\n",
                source, blocked_new, refreshed.size(), kept.size(), allowed_skips.size(),
                pool_added, expiry ? "expires " + iso_time(expiry) : "no expiry");
        }
    }
    return malformed + refused + published.failed.size() == 0 ? 0 : 1;
}

}  // namespace

const Command import_command{
    "import",
    "import --source NAME --expires SECONDS [--format F] [--reason TEXT] [--dry-run] FILE...",
    "block a threat-intel feed's domains and pool its addresses",
    "Reads each FILE (\"-\": standard input) as a feed: a plain list (one domain or\n"
    "address a line), a hosts file (\"0.0.0.0 evil.example\"), CSV with a header naming a\n"
    "'domain' or 'indicator' column, or an RPZ zone (\"evil.example CNAME .\",\n"
    "\"*.evil.example CNAME .\", \"32.4.3.2.1.rpz-ip CNAME .\"). The format is guessed from\n"
    "the name and content unless --format is given. Each domain is blocked on every\n"
    "resolver with source \"feed:NAME\" and an expiry SECONDS from now (0: none; lifted\n"
    "by `fluxctl expire`); each address joins <prefix>pool:addr. A line that is not\n"
    "understood is reported as FILE:LINE and skipped; the root, top-level domains and\n"
    "public suffixes are refused; allowed domains, and domains already blocked by\n"
    "detection or an operator, are left as they are. Every file is read before\n"
    "anything is written. Exit status 0 when every line was imported, 1 when some\n"
    "were not, 2 for bad arguments or an unreadable file.",
    {{"--source", "NAME", "the feed's name: blocks get source \"feed:NAME\" (required)"},
     {"--expires", "SECONDS", "the blocks end this long after the import; 0: never (required)"},
     {"--format", "F", "auto (default), list, hosts, csv or rpz"},
     {"--reason", "TEXT", "the blocks' reason (default: \"listed by feed NAME\")"},
     {"--dry-run", "", "parse and report, write nothing (does not connect to Redis)"},
     {"--who", "NAME", "who imports (default: $SUDO_USER, else the login name)"},
     kConfigOption,
     kJsonOption},
    run};

}  // namespace fluxguard::cli
