#include "configuration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

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

// Thrown by a setting's parser; the caller adds file, line and key.
struct BadValue {
    std::string expected;
};

std::uint32_t parse_uint(std::string_view v, std::uint32_t min, std::uint32_t max) {
    std::uint32_t out = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || end != v.data() + v.size() || out < min || out > max)
        throw BadValue{fmt::format("an integer from {} to {}", min, max)};
    return out;
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

struct Setting {
    std::string_view key;
    std::string_view default_text;
    std::string_view help;
    std::function<void(Config&, std::string_view)> apply;
};

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = {
        {"policy", "nxdomain",
         "what a blocked name gets: nxdomain, sinkhole (A/AAAA point at the sinkhole, other "
         "types NODATA) or monitor (log verdicts, change nothing)",
         [](Config& c, std::string_view v) {
             if (v == "nxdomain") c.policy = Policy::nxdomain;
             else if (v == "sinkhole") c.policy = Policy::sinkhole;
             else if (v == "monitor") c.policy = Policy::monitor;
             else throw BadValue{"one of nxdomain, sinkhole, monitor"};
         }},
        {"sinkhole-ipv4", "(none)", "address A queries for blocked names get (policy sinkhole)",
         [](Config& c, std::string_view v) { c.sinkhole_ipv4 = parse_ip(v, IpAddress::Family::v4); }},
        {"sinkhole-ipv6", "(none)",
         "address AAAA queries for blocked names get; without it they get NODATA",
         [](Config& c, std::string_view v) { c.sinkhole_ipv6 = parse_ip(v, IpAddress::Family::v6); }},
        {"rewrite-ttl", "60", "TTL in seconds of rewritten answers and of their SOA minimum",
         [](Config& c, std::string_view v) { c.rewrite_ttl = parse_uint(v, 0, 86400); }},
        {"asn-database", "(required)", "mmdb file in the GeoLite2-ASN schema",
         [](Config& c, std::string_view v) { c.asn_database = std::string(v); }},
        {"country-database", "(required)", "mmdb file in the GeoLite2-Country or -City schema",
         [](Config& c, std::string_view v) { c.country_database = std::string(v); }},
        {"allow", "(none)",
         "a domain never scored nor blocked, with every name below it; repeat the key for more",
         [](Config& c, std::string_view v) {
             auto name = normalize_name(v);
             if (!name || name->empty()) throw BadValue{"a domain name"};
             c.allow.push_back(*name);
         }},
        {"weight-addresses", "1.32", "score per distinct address (Holz et al. 2008)",
         [](Config& c, std::string_view v) { c.scoring.weight_addresses = parse_double(v); }},
        {"weight-asns", "18.54", "score per distinct ASN (Holz et al. 2008)",
         [](Config& c, std::string_view v) { c.scoring.weight_asns = parse_double(v); }},
        {"weight-countries", "9.27", "score per distinct country (half an ASN's weight)",
         [](Config& c, std::string_view v) { c.scoring.weight_countries = parse_double(v); }},
        {"weight-prefixes", "0",
         "score per distinct /24 (IPv4) or /48 (IPv6); off by default, ASNs carry the signal",
         [](Config& c, std::string_view v) { c.scoring.weight_prefixes = parse_double(v); }},
        {"weight-cross-changes", "9.27",
         "score per change of the answer to addresses in none of the previous answer's ASNs",
         [](Config& c, std::string_view v) { c.scoring.weight_cross_changes = parse_double(v); }},
        {"weight-ns-addresses", "1.32", "score per distinct name-server address (double flux)",
         [](Config& c, std::string_view v) { c.scoring.weight_ns_addresses = parse_double(v); }},
        {"weight-ns-asns", "18.54", "score per distinct ASN of the name servers (double flux)",
         [](Config& c, std::string_view v) { c.scoring.weight_ns_asns = parse_double(v); }},
        {"weight-ns-changes", "9.27", "score per change of the domain's NS set",
         [](Config& c, std::string_view v) { c.scoring.weight_ns_changes = parse_double(v); }},
        {"weight-pool", "200",
         "score for an answer entirely inside the pool of known flux addresses (scaled by the "
         "share that is), or for a name server in the pool",
         [](Config& c, std::string_view v) { c.scoring.weight_pool = parse_double(v); }},
        {"pool-ttl", "604800",
         "seconds an address or name server stays in the flux pool after a block",
         [](Config& c, std::string_view v) { c.scoring.pool_ttl = parse_uint(v, 60, 31536000); }},
        {"max-pool-entries", "1000000", "addresses and name servers kept in the flux pool at most",
         [](Config& c, std::string_view v) { c.scoring.max_pool_entries = parse_uint(v, 16, 100000000); }},
        {"store", "memory",
         "where flux state lives: memory (this resolver alone) or redis (shared by a fleet)",
         [](Config& c, std::string_view v) {
             if (v == "memory") c.fleet.redis = false;
             else if (v == "redis") c.fleet.redis = true;
             else throw BadValue{"memory or redis"};
         }},
        {"redis-server", "127.0.0.1:6379", "Redis address: host:port, [IPv6]:port or a socket path",
         [](Config& c, std::string_view v) { c.fleet.server = parse_endpoint_text(v); }},
        {"redis-user", "(none)", "ACL user name (Redis 6+)",
         [](Config& c, std::string_view v) { c.fleet.user = std::string(v); }},
        {"redis-password", "(none)", "password for AUTH; never logged",
         [](Config& c, std::string_view v) { c.fleet.password = std::string(v); }},
        {"redis-database", "0", "database index",
         [](Config& c, std::string_view v) { c.fleet.database = static_cast<int>(parse_uint(v, 0, 100000)); }},
        {"redis-key-prefix", "fluxguard:", "prefix of every key and of the pub/sub channel",
         [](Config& c, std::string_view v) {
             if (v.empty() || v.find_first_of("{} \t") != std::string_view::npos)
                 throw BadValue{"a non-empty prefix without braces or spaces"};
             c.fleet.key_prefix = std::string(v);
         }},
        {"redis-sentinel", "(none)",
         "a Redis Sentinel (host:port); repeat the key for more. With sentinels, the master "
         "is found and followed through them",
         [](Config& c, std::string_view v) { c.fleet.sentinels.push_back(parse_endpoint_text(v)); }},
        {"redis-sentinel-master", "(none)", "the master's name at the sentinels",
         [](Config& c, std::string_view v) { c.fleet.sentinel_master = std::string(v); }},
        {"record-clients", "no",
         "yes: record which client addresses ask for blocked names (the infected-host view in "
         "Redis; in the log with store: memory). Client addresses are personal data",
         [](Config& c, std::string_view v) {
             if (v == "yes") c.fleet.record_clients = true;
             else if (v == "no") c.fleet.record_clients = false;
             else throw BadValue{"yes or no"};
         }},
        {"metrics-address", "(off)",
         "loopback host:port of the Prometheus scrape endpoint (GET /metrics), e.g. "
         "127.0.0.1:9167",
         [](Config& c, std::string_view v) { c.metrics_address = parse_endpoint_text(v); }},
        {"redis-queue-size", "65536",
         "observations waiting for Redis at most; more are dropped and counted, never waited for",
         [](Config& c, std::string_view v) { c.fleet.queue_size = parse_uint(v, 16, 10000000); }},
        {"score-bias", "-142.38", "constant term of the score (Holz et al. 2008)",
         [](Config& c, std::string_view v) { c.scoring.score_bias = parse_double(v); }},
        {"flux-threshold", "0", "a domain whose score exceeds this is flagged",
         [](Config& c, std::string_view v) { c.scoring.threshold = parse_double(v); }},
        {"ttl-ceiling", "1800",
         "answers whose lowest TTL is above this many seconds are not flux evidence",
         [](Config& c, std::string_view v) { c.scoring.ttl_ceiling = parse_uint(v, 1, 604800); }},
        {"min-resolutions", "2", "resolutions of a domain needed before it can be flagged",
         [](Config& c, std::string_view v) { c.scoring.min_resolutions = parse_uint(v, 1, 1000); }},
        {"window", "86400", "seconds an address counts as evidence after it was last seen",
         [](Config& c, std::string_view v) { c.scoring.window = parse_uint(v, 60, 2592000); }},
        {"max-domains", "100000", "domains tracked at most; the least recently seen are evicted",
         [](Config& c, std::string_view v) { c.scoring.max_domains = parse_uint(v, 16, 100000000); }},
        {"max-addresses-per-domain", "256", "addresses kept per domain at most",
         [](Config& c, std::string_view v) {
             c.scoring.max_addresses_per_domain = parse_uint(v, 8, 65536);
         }},
    };
    return table;
}

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

// '#' starts a comment, except inside a double-quoted value.
std::string_view strip_comment(std::string_view line) {
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '"') quoted = !quoted;
        else if (line[i] == '#' && !quoted) return line.substr(0, i);
    }
    return line;
}

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
    return out;
}

}  // namespace

Config parse_config(std::string_view text, const std::string& file) {
    Config config;
    config.path = file;
    std::size_t line_no = 0;
    std::size_t policy_line = 0;
    bool seen[64] = {};
    std::istringstream in{std::string(text)};
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        std::string_view line = strip_comment(raw);
        line = trim(line);
        if (line.empty()) continue;
        const auto colon = line.find(':');
        // The line is not echoed, it may hold a password: only a known key.
        if (colon == std::string_view::npos) {
            const auto word = line.substr(0, line.find_first_of(" \t"));
            const bool known = std::any_of(settings().begin(), settings().end(),
                                           [&](const Setting& s) { return s.key == word; });
            throw ConfigError(known ? fmt::format("{}:{}: key '{}': expected 'key: value'", file,
                                                  line_no, word)
                                    : fmt::format("{}:{}: expected 'key: value'", file, line_no));
        }
        const auto key = trim(line.substr(0, colon));
        auto value = trim(line.substr(colon + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        const auto& table = settings();
        const Setting* setting = nullptr;
        for (const auto& s : table)
            if (s.key == key) setting = &s;
        if (!setting)
            throw ConfigError(fmt::format("{}:{}: unknown key '{}'", file, line_no, printable(key)));
        const auto index = static_cast<std::size_t>(setting - table.data());
        if (seen[index] && key != "allow" && key != "redis-sentinel")
            throw ConfigError(fmt::format("{}:{}: key '{}' given twice", file, line_no, key));
        seen[index] = true;
        if (key == "policy") policy_line = line_no;
        try {
            setting->apply(config, value);
        } catch (const BadValue& bad) {
            throw ConfigError(fmt::format("{}:{}: key '{}': bad value '{}', expected {}", file,
                                          line_no, key, printable(value), bad.expected));
        }
    }
    for (const char* required : {"asn-database", "country-database"}) {
        const std::string& v =
            std::string_view(required) == "asn-database" ? config.asn_database : config.country_database;
        if (v.empty())
            throw ConfigError(fmt::format("{}:{}: key '{}' is required", file, line_no, required));
    }
    if (!config.fleet.sentinels.empty() && config.fleet.sentinel_master.empty())
        throw ConfigError(fmt::format("{}:{}: key 'redis-sentinel-master' is required with redis-sentinel",
                                      file, line_no));
    if (config.policy == Policy::sinkhole && !config.sinkhole_ipv4)
        throw ConfigError(fmt::format("{}:{}: key 'policy': sinkhole needs sinkhole-ipv4", file,
                                      policy_line));
    return config;
}

Config load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}:0: cannot read configuration: {}", path, std::strerror(errno)));
    std::stringstream text;
    text << in.rdbuf();
    Config config = parse_config(text.str(), path);
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
    std::string out;
    for (const auto& s : settings()) out += fmt::format("{}: {}  # {}\n", s.key, s.default_text, s.help);
    return out;
}

}  // namespace fluxguard
