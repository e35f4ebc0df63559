#include "configuration.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "config_parser.h"
#include "dns_name.h"

namespace fluxguard {

std::string_view to_string(Policy p) {
    switch (p) {
        case Policy::monitor: return "monitor";
        case Policy::nxdomain: return "nxdomain";
        case Policy::sinkhole: return "sinkhole";
    }
    return "?";
}

namespace {

using config_parser::BadValue;

std::uint32_t parse_uint(std::string_view v, std::uint32_t min, std::uint32_t max) {
    return static_cast<std::uint32_t>(config_parser::parse_uint(v, min, max));
}

double parse_double(std::string_view v) {
    // from_chars for double is in libstdc++ 12; strtod keeps it portable.
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    const double out = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(out))
        throw BadValue{"a decimal number"};
    return out;
}

IpAddress parse_ip(std::string_view v, IpAddress::Family family) {
    auto ip = IpAddress::parse(v);
    if (!ip || ip->family() != family)
        throw BadValue{family == IpAddress::Family::v4 ? "an IPv4 address" : "an IPv6 address"};
    return *ip;
}

// "host:port", "[v6]:port" or an absolute socket path; the store parses it
// for real, this only catches typos at start-up with the file and line.
std::string parse_endpoint_text(std::string_view v) {
    if (v.starts_with("/")) return std::string(v);
    const auto colon = v.rfind(':');
    const auto host = colon == std::string_view::npos ? v : v.substr(0, colon);
    if (host.empty() || (colon != std::string_view::npos && host.find(':') != std::string_view::npos &&
                         !(host.front() == '[' && host.back() == ']')))
        throw BadValue{"host:port, [IPv6]:port or an absolute socket path"};
    if (colon != std::string_view::npos) parse_uint(v.substr(colon + 1), 1, 65535);
    return std::string(v);
}

// Every setting, its default and help; the handlers write into `c`.
std::vector<config_parser::Key> settings(Config& c) {
    return {
        {"policy", "nxdomain",
         "what a blocked name gets: nxdomain, sinkhole (A/AAAA point at the sinkhole, other "
         "types NODATA) or monitor (log verdicts, change nothing)",
         [&c](std::string_view v) {
             if (v == "nxdomain") c.policy = Policy::nxdomain;
             else if (v == "sinkhole") c.policy = Policy::sinkhole;
             else if (v == "monitor") c.policy = Policy::monitor;
             else throw BadValue{"one of nxdomain, sinkhole, monitor"};
         }},
        {"sinkhole-ipv4", "(none)", "address A queries for blocked names get (policy sinkhole)",
         [&c](std::string_view v) { c.sinkhole_ipv4 = parse_ip(v, IpAddress::Family::v4); }},
        {"sinkhole-ipv6", "(none)",
         "address AAAA queries for blocked names get; without it they get NODATA",
         [&c](std::string_view v) { c.sinkhole_ipv6 = parse_ip(v, IpAddress::Family::v6); }},
        {"rewrite-ttl", "60", "TTL in seconds of rewritten answers and of their SOA minimum",
         [&c](std::string_view v) { c.rewrite_ttl = parse_uint(v, 0, 86400); }},
        {"asn-database", "(required)", "mmdb file in the GeoLite2-ASN schema",
         [&c](std::string_view v) { c.asn_database = std::string(v); }},
        {"country-database", "(required)", "mmdb file in the GeoLite2-Country or -City schema",
         [&c](std::string_view v) { c.country_database = std::string(v); }},
        {"allow", "(none)",
         "a domain never scored nor blocked, with every name below it; repeat the key for more",
         [&c](std::string_view v) {
             auto name = normalize_name(v);
             if (!name || name->empty()) throw BadValue{"a domain name"};
             c.allow.push_back(*name);
         },
         /*repeatable=*/true},
        {"weight-addresses", "1.32", "score per distinct address (Holz et al. 2008)",
         [&c](std::string_view v) { c.scoring.weight_addresses = parse_double(v); }},
        {"weight-asns", "18.54", "score per distinct ASN (Holz et al. 2008)",
         [&c](std::string_view v) { c.scoring.weight_asns = parse_double(v); }},
        {"weight-countries", "9.27", "score per distinct country (half an ASN's weight)",
         [&c](std::string_view v) { c.scoring.weight_countries = parse_double(v); }},
        {"weight-continents", "74.16",
         "score per continent beyond the second, for domains answering one or two addresses "
         "at a time (four ASNs' weight: geo-DNS answers stay near the resolver, bots are "
         "wherever they are)",
         [&c](std::string_view v) { c.scoring.weight_continents = parse_double(v); }},
        {"weight-prefixes", "0",
         "score per distinct /24 (IPv4) or /48 (IPv6); off by default, ASNs carry the signal",
         [&c](std::string_view v) { c.scoring.weight_prefixes = parse_double(v); }},
        {"weight-cross-changes", "9.27",
         "score per change of the answer to addresses in none of the previous answer's ASNs",
         [&c](std::string_view v) { c.scoring.weight_cross_changes = parse_double(v); }},
        {"weight-ns-addresses", "1.32", "score per distinct name-server address (double flux)",
         [&c](std::string_view v) { c.scoring.weight_ns_addresses = parse_double(v); }},
        {"weight-ns-asns", "18.54", "score per distinct ASN of the name servers (double flux)",
         [&c](std::string_view v) { c.scoring.weight_ns_asns = parse_double(v); }},
        {"weight-ns-changes", "9.27", "score per change of the domain's NS set",
         [&c](std::string_view v) { c.scoring.weight_ns_changes = parse_double(v); }},
        {"weight-pool", "250",
         "score for an answer entirely inside the pool of known flux addresses (scaled by the "
         "share that is), or for a name server in the pool",
         [&c](std::string_view v) { c.scoring.weight_pool = parse_double(v); }},
        {"pool-ttl", "604800",
         "seconds an address or name server stays in the flux pool after a block",
         [&c](std::string_view v) { c.scoring.pool_ttl = parse_uint(v, 60, 31536000); }},
        {"max-pool-entries", "1000000", "addresses and name servers kept in the flux pool at most",
         [&c](std::string_view v) { c.scoring.max_pool_entries = parse_uint(v, 16, 100000000); }},
        {"store", "memory",
         "where flux state lives: memory (this resolver alone) or redis (shared by a fleet)",
         [&c](std::string_view v) {
             if (v == "memory") c.fleet.redis = false;
             else if (v == "redis") c.fleet.redis = true;
             else throw BadValue{"memory or redis"};
         }},
        {"redis-server", "127.0.0.1:6379", "Redis address: host:port, [IPv6]:port or a socket path",
         [&c](std::string_view v) { c.fleet.server = parse_endpoint_text(v); }},
        {"redis-user", "(none)", "ACL user name (Redis 6+)",
         [&c](std::string_view v) { c.fleet.user = std::string(v); }},
        {"redis-password", "(none)", "password for AUTH; never logged",
         [&c](std::string_view v) { c.fleet.password = std::string(v); },
         /*repeatable=*/false, /*secret=*/true},
        {"redis-database", "0", "database index",
         [&c](std::string_view v) { c.fleet.database = static_cast<int>(parse_uint(v, 0, 100000)); }},
        {"redis-key-prefix", "fluxguard:", "prefix of every key and of the pub/sub channel",
         [&c](std::string_view v) {
             if (v.empty() || v.find_first_of("{} \t") != std::string_view::npos)
                 throw BadValue{"a non-empty prefix without braces or spaces"};
             c.fleet.key_prefix = std::string(v);
         }},
        {"redis-sentinel", "(none)",
         "a Redis Sentinel (host:port); repeat the key for more. With sentinels, the master "
         "is found and followed through them",
         [&c](std::string_view v) { c.fleet.sentinels.push_back(parse_endpoint_text(v)); },
         /*repeatable=*/true},
        {"redis-sentinel-master", "(none)", "the master's name at the sentinels",
         [&c](std::string_view v) { c.fleet.sentinel_master = std::string(v); }},
        {"record-clients", "no",
         "yes: record which client addresses ask for blocked names (the infected-host view in "
         "Redis; in the log with store: memory). Client addresses are personal data",
         [&c](std::string_view v) { c.fleet.record_clients = config_parser::parse_yes_no(v); }},
        {"metrics-address", "(off)",
         "loopback host:port of the Prometheus scrape endpoint (GET /metrics), e.g. "
         "127.0.0.1:9167",
         [&c](std::string_view v) { c.metrics_address = parse_endpoint_text(v); }},
        {"redis-queue-size", "65536",
         "observations waiting for Redis at most; more are dropped and counted, never waited for",
         [&c](std::string_view v) { c.fleet.queue_size = parse_uint(v, 16, 10000000); }},
        {"score-bias", "-142.38", "constant term of the score (Holz et al. 2008)",
         [&c](std::string_view v) { c.scoring.score_bias = parse_double(v); }},
        {"flux-threshold", "50", "a domain whose score exceeds this is flagged",
         [&c](std::string_view v) { c.scoring.threshold = parse_double(v); }},
        {"ttl-ceiling", "1800",
         "answers whose lowest TTL is above this many seconds are not flux evidence",
         [&c](std::string_view v) { c.scoring.ttl_ceiling = parse_uint(v, 1, 604800); }},
        {"min-resolutions", "2", "resolutions of a domain needed before it can be flagged",
         [&c](std::string_view v) { c.scoring.min_resolutions = parse_uint(v, 1, 1000); }},
        {"window", "86400", "seconds an address counts as evidence after it was last seen",
         [&c](std::string_view v) { c.scoring.window = parse_uint(v, 60, 2592000); }},
        {"max-domains", "100000", "domains tracked at most; those not seen for longest go first (second-chance)",
         [&c](std::string_view v) { c.scoring.max_domains = parse_uint(v, 16, 100000000); }},
        {"max-addresses-per-domain", "256", "addresses kept per domain at most",
         [&c](std::string_view v) {
             c.scoring.max_addresses_per_domain = parse_uint(v, 8, 65536);
         }},
    };
}

}  // namespace

Config parse_config(std::string_view text, const std::string& file) {
    Config config;
    config.path = file;
    const auto lines =
        config_parser::parse(text, file, settings(config), config_parser::UnsplitLine::hidden);
    for (const char* required : {"asn-database", "country-database"}) {
        const std::string& v = std::string_view(required) == "asn-database"
                                   ? config.asn_database
                                   : config.country_database;
        if (v.empty())
            throw ConfigError(
                fmt::format("{}:{}: key '{}' is required", file, lines.last, required));
    }
    if (!config.fleet.sentinels.empty() && config.fleet.sentinel_master.empty())
        throw ConfigError(
            fmt::format("{}:{}: key 'redis-sentinel-master' is required with redis-sentinel", file,
                        lines.last));
    if (config.policy == Policy::sinkhole && !config.sinkhole_ipv4)
        throw ConfigError(fmt::format("{}:{}: key 'policy': sinkhole needs sinkhole-ipv4", file,
                                      lines.of("policy")));
    return config;
}

Config load_config(const std::string& path) {
    Config config = parse_config(config_parser::read_file(path), path);
    const auto dir = std::filesystem::path(path).parent_path();
    for (std::string* db : {&config.asn_database, &config.country_database})
        if (std::filesystem::path(*db).is_relative()) *db = (dir / *db).lexically_normal().string();
    return config;
}

std::string config_path_from_environment() {
    const char* env = std::getenv("FLUXGUARD_CONF");
    return env && *env ? env : default_config_path;
}

std::string describe_settings() {
    Config unused;
    return config_parser::describe(settings(unused));
}

}  // namespace fluxguard
