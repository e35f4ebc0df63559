// fluxguard.conf: every setting declared once (key, default, help) in
// configuration.cpp; the parser shared with sinkhole.conf (config_parser.h);
// errors name file:line, key, value and what was expected. Loaded once at
// start-up; the result is immutable and shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config_parser.h"  // ConfigError
#include "ip_address.h"

namespace fluxguard {

enum class Policy { monitor, nxdomain, sinkhole };
std::string_view to_string(Policy);

// Weights and limits of the flux score; flux_scorer.h explains each one.
struct ScoringConfig {
    double weight_addresses = 1.32;
    double weight_asns = 18.54;
    double weight_countries = 9.27;
    double weight_continents = 74.16;
    double weight_prefixes = 0.0;
    double weight_cross_changes = 9.27;
    double weight_ns_addresses = 1.32;
    double weight_ns_asns = 18.54;
    double weight_ns_changes = 9.27;
    double weight_pool = 250.0;
    double score_bias = -142.38;
    double threshold = 50.0;
    std::uint32_t ttl_ceiling = 1800;
    std::uint32_t min_resolutions = 2;
    std::uint32_t window = 86400;
    std::uint32_t pool_ttl = 604800;
    std::size_t max_domains = 100000;
    std::size_t max_addresses_per_domain = 256;
    std::size_t max_pool_entries = 1000000;
};

// Where the fleet's shared state lives (store/README.md). Endpoints are kept
// as text ("host:port", "[v6]:port" or a socket path); the store parses them.
struct FleetConfig {
    bool redis = false;  // store: redis
    std::string server = "127.0.0.1:6379";
    std::string user;
    std::string password;
    int database = 0;
    std::string key_prefix = "fluxguard:";
    std::vector<std::string> sentinels;
    std::string sentinel_master;
    std::size_t queue_size = 65536;
    // Client addresses that asked for blocked names go to the infected-host
    // view (Redis) or, with the memory store, to the log. Personal data: off
    // unless the operator turns it on.
    bool record_clients = false;
};

struct Config {
    std::string path;
    Policy policy = Policy::nxdomain;
    std::optional<IpAddress> sinkhole_ipv4;
    std::optional<IpAddress> sinkhole_ipv6;
    std::uint32_t rewrite_ttl = 60;
    std::string asn_database;
    std::string country_database;
    std::vector<std::string> allow;
    ScoringConfig scoring;
    FleetConfig fleet;
    std::string metrics_address;  // "" = no metrics endpoint
};

// Reads and validates a file. Relative database paths are taken relative to
// the file's directory. Throws ConfigError("file:line: key 'k': ...").
Config load_config(const std::string& path);

// Same, from text already in memory (tests, fuzzing); `file` names it in errors.
Config parse_config(std::string_view text, const std::string& file);

// The path Unbound's module reads: $FLUXGUARD_CONF, else the documented default.
std::string config_path_from_environment();
inline constexpr const char* default_config_path = "/etc/fluxguard/fluxguard.conf";

// One line per setting: key, default and help, for --help and the README.
std::string describe_settings();

}  // namespace fluxguard
