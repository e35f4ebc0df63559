// Operator decisions: deny (block), unblock, allow, and expire (lifting feed
// and operator blocks whose time is up). Blocks and unblocks go through the
// store (fleet_publisher.h); the allow list, expiries and the audit stream
// are fluxctl's own keys (cli/README.md, "Keys").
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "dns_name.h"
#include "feed_parser.h"
#include "fleet_publisher.h"
#include "indicators.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

const OptionSpec kReason{"--reason", "TEXT", "why (required); kept with who and when"};
const OptionSpec kWho{"--who", "NAME", "who decides (default: $SUDO_USER, else the login name)"};

std::string domain_argument(const Args& args) {
    if (args.positional().size() != 1) throw UsageError("expected one DOMAIN");
    auto name = normalize_name(args.positional()[0]);
    if (!name)
        throw UsageError(fmt::format("'{}' is not a domain name", printable(args.positional()[0])));
    if (name->empty()) throw UsageError("the root cannot be a decision's domain");
    return *name;
}

std::string reason_argument(const Args& args) {
    auto reason = args.value("--reason");
    if (!reason || reason->empty()) throw UsageError("--reason TEXT is required");
    return *reason;
}

void report_failed(const PublishResult& r, std::string_view what) {
    for (const auto& d : r.failed)
        std::cerr << fmt::format("fluxctl: {} of {} not confirmed by the store within {} s\n", what,
                                 printable(d), FleetPublisher::patience.count());
}

std::string how(const PublishResult& r) {
    return r.delivered > 0 ? "delivered on the event channel"
                           : "written to Redis; resolvers apply it at their next resync";
}

// ---- deny / block --------------------------------------------------------

int run_deny(const Args& args) {
    const auto domain = domain_argument(args);
    const auto reason = reason_argument(args);
    const auto who = operator_name(args);
    const auto expires_in = args.integer("--expires", 0, 0, 10LL * 365 * 86400);
    const FeedChecker checker;
    if (!args.flag("--force") &&
        (domain.find('.') == std::string::npos || checker.is_public_suffix(domain)))
        throw UsageError(fmt::format(
            "'{}' is a top-level domain or public suffix: blocking it blocks every domain "
            "below it; add --force if that is meant",
            domain));
    const auto ctx = load_context(args);
    auto redis = connect(ctx);

    // An explicit deny ends an allow entry of the same name.
    if (!redis.command({"ZSCORE", ctx.tool.allow, domain}).is_nil()) {
        redis.pipeline({{"ZREM", ctx.tool.allow, domain}, {"DEL", ctx.tool.allow_entry(domain)}});
        std::cout << fmt::format("removed the allow entry of {}\n", printable(domain));
    } else if (auto parent = covering_entry(domain, read_allowed(redis, ctx))) {
        std::cerr << fmt::format(
            "fluxctl: note: {} is under allowed {}; resolvers that honour the allow list will "
            "not apply this block\n",
            printable(domain), printable(*parent));
    }
    // A detected block keeps its verdict: publishing over it would replace the evidence.
    const auto current =
        redis.command({"HMGET", ctx.keys.block_key(domain), "source", "score", "since"});
    if (current.is_array() && current.elements.size() == 3 &&
        current.elements[0].str == "detected") {
        std::cout << fmt::format(
            "{} is already blocked by detection (score {}, since {}): kept as it is\n",
            printable(domain), current.elements[1].str, iso_time(current.elements[2].as_int()));
        return 0;
    }
    const auto now = now_seconds();
    if (expires_in > 0)
        redis.command({"ZADD", ctx.tool.expires, std::to_string(now + expires_in), domain});
    else
        redis.command({"ZREM", ctx.tool.expires, domain});

    FleetPublisher publisher(ctx.redis, redis);
    const auto result = publisher.block({FleetBlock{domain, 0.0, now, "operator", reason, ""}});
    if (!result.ok()) {
        report_failed(result, "block");
        return 1;
    }
    redis.command({"HSET", ctx.keys.block_key(domain), "who", who});
    audit(redis, ctx.tool,
          {{"action", "deny"},
           {"domain", domain},
           {"who", who},
           {"reason", reason},
           {"expires", expires_in > 0 ? std::to_string(now + expires_in) : ""}});
    if (args.flag("--json")) {
        std::cout << json_text({{"action", "deny"},
                                {"domain", domain},
                                {"who", who},
                                {"reason", reason},
                                {"since", now},
                                {"expires", expires_in > 0 ? nlohmann::json(now + expires_in)
                                                           : nlohmann::json()},
                                {"delivered", result.delivered > 0}})
                  << "\n";
        return 0;
    }
    std::cout << fmt::format(
        "denied {} ({}, by {}){}: {}\n", printable(domain), printable(reason), printable(who),
        expires_in > 0 ? ", until " + iso_time(now + expires_in) : "", how(result));
    return 0;
}

// ---- unblock ---------------------------------------------------------------

int run_unblock(const Args& args) {
    const auto domain = domain_argument(args);
    const auto reason = reason_argument(args);
    const auto who = operator_name(args);
    const auto ctx = load_context(args);
    auto redis = connect(ctx);
    const bool was_blocked = !redis.command({"ZSCORE", ctx.keys.blocked(), domain}).is_nil();
    if (!was_blocked) {
        std::vector<std::string> members;
        for (const auto& b : read_blocks(redis, ctx)) members.push_back(b.domain);
        if (auto parent = covering_entry(domain, members)) {
            std::cerr << fmt::format(
                "fluxctl: {} is not blocked itself: the block of {} covers it; unblock {} "
                "instead\n",
                printable(domain), printable(*parent), printable(*parent));
            return 1;
        }
    }
    FleetPublisher publisher(ctx.redis, redis);
    const auto result = publisher.unblock({FleetUnblock{domain, reason, who}});
    if (!result.ok()) {
        report_failed(result, "unblock");
        return 1;
    }
    redis.command({"ZREM", ctx.tool.expires, domain});
    audit(redis, ctx.tool,
          {{"action", "unblock"}, {"domain", domain}, {"who", who}, {"reason", reason}});
    if (args.flag("--json")) {
        std::cout << json_text({{"action", "unblock"},
                                {"domain", domain},
                                {"who", who},
                                {"reason", reason},
                                {"was_blocked", was_blocked},
                                {"delivered", result.delivered > 0}})
                  << "\n";
        return 0;
    }
    std::cout << fmt::format("unblocked {} ({}, by {}): {}{}\n", printable(domain),
                             printable(reason), printable(who), how(result),
                             was_blocked ? "" : "; it was not blocked in Redis");
    return 0;
}

// ---- allow -----------------------------------------------------------------

int run_allow(const Args& args) {
    const auto domain = domain_argument(args);
    const auto reason = reason_argument(args);
    const auto who = operator_name(args);
    const auto ctx = load_context(args);
    auto redis = connect(ctx);
    const auto now = now_seconds();
    if (args.flag("--remove")) {
        const auto removed = redis.command({"ZREM", ctx.tool.allow, domain}).as_int();
        redis.command({"DEL", ctx.tool.allow_entry(domain)});
        if (removed == 0) {
            std::cerr << fmt::format("fluxctl: {} is not on the allow list\n", printable(domain));
            return 1;
        }
        audit(redis, ctx.tool,
              {{"action", "allow-remove"}, {"domain", domain}, {"who", who}, {"reason", reason}});
        std::cout << fmt::format("removed {} from the allow list ({}, by {})\n", printable(domain),
                                 printable(reason), printable(who));
        return 0;
    }
    // The allow entry first: a resolver honouring it cannot block the domain
    // again between the unblock and the entry.
    redis.pipeline({{"ZADD", ctx.tool.allow, std::to_string(now), domain},
                    {"HSET", ctx.tool.allow_entry(domain), "domain", domain, "since",
                     std::to_string(now), "who", who, "reason", reason},
                    {"ZREM", ctx.tool.expires, domain}});
    // Lift the domain's block and every block below it.
    std::vector<FleetUnblock> unblocks{{domain, reason, who}};
    std::vector<std::string> lifted;
    std::optional<std::string> blocked_parent;
    for (const auto& b : read_blocks(redis, ctx)) {
        if (b.domain != domain && is_at_or_below(b.domain, domain)) {
            unblocks.push_back({b.domain, reason, who});
            lifted.push_back(b.domain);
        }
        if (b.domain == domain) lifted.insert(lifted.begin(), b.domain);
        if (b.domain != domain && is_at_or_below(domain, b.domain)) blocked_parent = b.domain;
    }
    FleetPublisher publisher(ctx.redis, redis);
    const auto result = publisher.unblock(unblocks);
    audit(redis, ctx.tool,
          {{"action", "allow"}, {"domain", domain}, {"who", who}, {"reason", reason}});
    if (blocked_parent)
        std::cerr << fmt::format(
            "fluxctl: note: parent {} is blocked; its block covers {} on resolvers that do "
            "not honour the allow list\n",
            printable(*blocked_parent), printable(domain));
    if (!result.ok()) report_failed(result, "unblock");
    if (args.flag("--json")) {
        std::cout << json_text({{"action", "allow"},
                                {"domain", domain},
                                {"who", who},
                                {"reason", reason},
                                {"since", now},
                                {"unblocked", lifted},
                                {"failed", result.failed}})
                  << "\n";
    } else {
        std::string list;
        for (const auto& d : lifted) list += (list.empty() ? "" : ", ") + printable(d);
        std::cout << fmt::format("allowed {} ({}, by {}); {}\n", printable(domain),
                                 printable(reason), printable(who),
                                 lifted.empty() ? "it was not blocked" : "unblocked " + list);
    }
    return result.ok() ? 0 : 1;
}

// ---- expire ----------------------------------------------------------------

int run_expire(const Args& args) {
    const auto ctx = load_context(args);
    const bool dry = args.flag("--dry-run");
    auto redis = connect(ctx);
    const auto now = now_seconds();
    const auto due = redis.command(
        {"ZRANGEBYSCORE", ctx.tool.expires, "-inf", std::to_string(now), "WITHSCORES"});
    std::vector<std::string> domains;
    for (std::size_t i = 0; i + 1 < due.elements.size(); i += 2)
        domains.push_back(due.elements[i].str);
    std::vector<Argv> reads;
    for (const auto& d : domains) reads.push_back({"HMGET", ctx.keys.block_key(d), "source"});
    for (const auto& d : domains) reads.push_back({"ZSCORE", ctx.keys.blocked(), d});
    const auto r = redis.pipeline(reads);
    std::vector<FleetUnblock> unblocks;
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < domains.size(); ++i) {
        const auto& src =
            r[i].is_array() && !r[i].elements.empty() ? r[i].elements[0].str : std::string();
        const bool blocked = !r[domains.size() + i].is_nil();
        // A detection since (source "detected") is not the feed's to lift.
        if (blocked && (src.starts_with("feed:") || src == "operator"))
            unblocks.push_back({domains[i], "expired (" + src + ")", "fluxctl expire"});
        else if (blocked)
            kept.push_back(domains[i]);
    }
    // Feed addresses: out of the pool unless a blocked domain was seen on
    // them after their feed's end.
    const auto due_addr = redis.command(
        {"ZRANGEBYSCORE", ctx.tool.expires_addr, "-inf", std::to_string(now), "WITHSCORES"});
    std::vector<std::pair<std::string, std::int64_t>> addrs;
    for (std::size_t i = 0; i + 1 < due_addr.elements.size(); i += 2)
        addrs.emplace_back(due_addr.elements[i].str, due_addr.elements[i + 1].as_int());
    std::vector<Argv> pool_reads;
    for (const auto& [a, t] : addrs) pool_reads.push_back({"ZSCORE", ctx.keys.pool_addr(), a});
    const auto pool = redis.pipeline(pool_reads);
    std::vector<std::string> drop_addr;
    for (std::size_t i = 0; i < addrs.size(); ++i)
        if (!pool[i].is_nil() && pool[i].as_int() <= addrs[i].second)
            drop_addr.push_back(addrs[i].first);

    PublishResult result;
    if (!dry) {
        if (!unblocks.empty()) {
            FleetPublisher publisher(ctx.redis, redis);
            result = publisher.unblock(unblocks);
            report_failed(result, "unblock");
        }
        std::vector<Argv> writes;
        for (const auto& d : domains)
            if (std::find(result.failed.begin(), result.failed.end(), d) == result.failed.end())
                writes.push_back({"ZREM", ctx.tool.expires, d});
        for (const auto& a : drop_addr) writes.push_back({"ZREM", ctx.keys.pool_addr(), a});
        for (const auto& [a, t] : addrs) writes.push_back({"ZREM", ctx.tool.expires_addr, a});
        redis.pipeline(writes);
        if (!unblocks.empty() || !drop_addr.empty())
            audit(redis, ctx.tool,
                  {{"action", "expire"},
                   {"who", "fluxctl expire"},
                   {"domains", std::to_string(unblocks.size() - result.failed.size())},
                   {"addresses", std::to_string(drop_addr.size())}});
    }
    std::vector<std::string> lifted;
    for (const auto& u : unblocks) lifted.push_back(u.domain);
    if (args.flag("--json")) {
        std::cout << json_text({{"dry_run", dry},
                                {"unblocked", lifted},
                                {"kept", kept},
                                {"pool_addresses_removed", drop_addr.size()},
                                {"failed", result.failed}})
                  << "\n";
    } else {
        for (const auto& d : lifted)
            std::cout << fmt::format("{}{}\n", dry ? "would unblock " : "unblocked ", printable(d));
        for (const auto& d : kept)
            std::cout << fmt::format(
                "kept {}: blocked again since by detection, not the feed's to lift\n",
                printable(d));
        std::cout << fmt::format(
            "{} {} expired block{}, {} flux pool address{}\n", dry ? "would lift" : "lifted",
            lifted.size() - result.failed.size(), lifted.size() == 1 ? "" : "s", drop_addr.size(),
            drop_addr.size() == 1 ? "" : "es");
    }
    return result.ok() ? 0 : 1;
}

}  // namespace

const Command deny_command{
    "deny",
    "deny DOMAIN --reason TEXT [--expires SECONDS] [--who NAME] [--force] [--config FILE]",
    "block a domain (and every name below it) on every resolver",
    "Blocks DOMAIN on every resolver of the fleet: an operator block (source\n"
    "\"operator\") published through the store, which writes it to Redis and announces\n"
    "it on <prefix>events. Waits until the store confirms it (at most 10 s without\n"
    "progress). With --expires, `fluxctl expire` lifts it after SECONDS. An allow\n"
    "entry of the same name is removed. A top-level domain or public suffix needs\n"
    "--force. Exit status 0 when confirmed, 1 when not, 2 for bad arguments.",
    {kReason,
     {"--expires", "SECONDS", "lift the block after this long (fluxctl expire)"},
     kWho,
     {"--force", "", "allow a top-level domain or public suffix"},
     kConfigOption,
     kJsonOption},
    run_deny};

const Command block_command{
    "block",
    "block DOMAIN --reason TEXT [--expires SECONDS] [--who NAME] [--force] [--config FILE]",
    "the same as deny",
    "The older name of `fluxctl deny`: see `fluxctl deny --help`.",
    deny_command.options,
    run_deny};

const Command unblock_command{
    "unblock",
    "unblock DOMAIN --reason TEXT [--who NAME] [--config FILE]",
    "lift a block on every resolver",
    "Lifts the block of DOMAIN on every resolver (publish_unblock through the store:\n"
    "removed from Redis and announced on <prefix>events with the reason and who).\n"
    "The domain may be detected again later; `fluxctl allow` prevents that. When\n"
    "DOMAIN is only covered by a parent's block, nothing is done (exit status 1).",
    {kReason, kWho, kConfigOption, kJsonOption},
    run_unblock};

const Command allow_command{
    "allow",
    "allow DOMAIN --reason TEXT [--remove] [--who NAME] [--config FILE]",
    "unblock a domain and keep it on the fleet's allow list",
    "Puts DOMAIN (and every name below it) on the fleet's allow list\n"
    "(<prefix>allow, with who, when and why in <prefix>allow:{domain}), then lifts\n"
    "its block and every block below it on every resolver. Feeds never block an\n"
    "allowed domain, exports leave it out. With --remove, takes it off the list.",
    {kReason, {"--remove", "", "take DOMAIN off the allow list"}, kWho, kConfigOption, kJsonOption},
    run_allow};

const Command expire_command{
    "expire",
    "expire [--dry-run] [--json] [--config FILE]",
    "lift feed and operator blocks whose expiry has passed (run it from cron)",
    "Lifts every block whose expiry (<prefix>expires, set by import --expires and\n"
    "deny --expires) has passed, unless the domain has since been blocked by\n"
    "detection; and takes expired feed addresses out of the flux pool unless a\n"
    "blocked domain was seen on them after that. Run it every few minutes.",
    {{"--dry-run", "", "say what would be lifted, change nothing"}, kConfigOption, kJsonOption},
    run_expire};

}  // namespace fluxguard::cli
