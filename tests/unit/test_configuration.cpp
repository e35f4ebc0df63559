#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "configuration.h"
#include "unit.h"

using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;
using fluxguard::Config;
using fluxguard::ConfigError;
using fluxguard::load_config;
using fluxguard::parse_config;
using fluxguard::Policy;

namespace {

const std::string required = "asn-database: /geo/asn.mmdb\ncountry-database: /geo/country.mmdb\n";

// The message of the ConfigError parse_config throws, or "" (which fails the
// callers' checks) when it accepts the text.
std::string config_error(const std::string& text, const std::string& file = "test.conf") {
    try {
        parse_config(text, file);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL_CHECK("accepted:\n" << text);
    return "";
}

// A directory of its own under the system temp directory, removed afterwards.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("fluxguard-unit-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string write(const std::string& name, const std::string& text) const {
        const auto file = path / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        return file.string();
    }
};

}  // namespace

// A configuration that sets every key to a value other than its default.
const std::string every_key =
    "policy: sinkhole\n"
    "sinkhole-ipv4: 192.0.2.53\n"
    "sinkhole-ipv6: 2001:db8::53\n"
    "rewrite-ttl: 30\n"
    "asn-database: /var/lib/geo/asn.mmdb\n"
    "country-database: /var/lib/geo/country.mmdb\n"
    "allow: Example.COM.\n"
    "allow: cdn.test\n"
    "weight-addresses: 2.5\n"
    "weight-asns: 20\n"
    "weight-countries: 10.25\n"
    "weight-continents: 30.5\n"
    "weight-prefixes: 0.5\n"
    "weight-ns-addresses: 1.5\n"
    "weight-ns-asns: 17\n"
    "weight-ns-changes: 8.5\n"
    "weight-cross-changes: 4.5\n"
    "weight-pool: 150\n"
    "pool-ttl: 7200\n"
    "max-pool-entries: 5000\n"
    "score-bias: -150.5\n"
    "flux-threshold: 3.5\n"
    "ttl-ceiling: 900\n"
    "min-resolutions: 3\n"
    "window: 3600\n"
    "max-domains: 5000\n"
    "max-addresses-per-domain: 64\n"
    "store: redis\n"
    "redis-server: \"[2001:db8::6]:6380\"\n"
    "redis-user: fluxguard\n"
    "redis-password: s3cret\n"
    "redis-database: 3\n"
    "redis-key-prefix: fg:\n"
    "redis-sentinel: sentinel1.test:26379\n"
    "redis-sentinel: /run/sentinel.sock\n"
    "redis-sentinel-master: flux-master\n"
    "redis-queue-size: 1024\n"
    "record-clients: yes\n"
    "metrics-address: 127.0.0.1:9167\n";

TEST_CASE("config: every key is parsed", "[configuration]") {
    const Config c = parse_config(every_key, "full.conf");
    CHECK(c.path == "full.conf");
    CHECK(c.policy == Policy::sinkhole);
    REQUIRE(c.sinkhole_ipv4);
    CHECK(c.sinkhole_ipv4->to_string() == "192.0.2.53");
    REQUIRE(c.sinkhole_ipv6);
    CHECK(c.sinkhole_ipv6->to_string() == "2001:db8::53");
    CHECK(c.rewrite_ttl == 30);
    CHECK(c.asn_database == "/var/lib/geo/asn.mmdb");
    CHECK(c.country_database == "/var/lib/geo/country.mmdb");
    CHECK(c.allow == std::vector<std::string>{"example.com", "cdn.test"});
    CHECK(c.scoring.weight_addresses == 2.5);
    CHECK(c.scoring.weight_asns == 20.0);
    CHECK(c.scoring.weight_countries == 10.25);
    CHECK(c.scoring.weight_continents == 30.5);
    CHECK(c.scoring.weight_prefixes == 0.5);
    CHECK(c.scoring.weight_ns_addresses == 1.5);
    CHECK(c.scoring.weight_ns_asns == 17.0);
    CHECK(c.scoring.weight_ns_changes == 8.5);
    CHECK(c.scoring.weight_cross_changes == 4.5);
    CHECK(c.scoring.weight_pool == 150.0);
    CHECK(c.scoring.pool_ttl == 7200);
    CHECK(c.scoring.max_pool_entries == 5000);
    CHECK(c.scoring.score_bias == -150.5);
    CHECK(c.scoring.threshold == 3.5);
    CHECK(c.scoring.ttl_ceiling == 900);
    CHECK(c.scoring.min_resolutions == 3);
    CHECK(c.scoring.window == 3600);
    CHECK(c.scoring.max_domains == 5000);
    CHECK(c.scoring.max_addresses_per_domain == 64);
    CHECK(c.fleet.redis);
    CHECK(c.fleet.server == "[2001:db8::6]:6380");
    CHECK(c.fleet.user == "fluxguard");
    CHECK(c.fleet.password == "s3cret");
    CHECK(c.fleet.database == 3);
    CHECK(c.fleet.key_prefix == "fg:");
    CHECK(c.fleet.sentinels ==
          std::vector<std::string>{"sentinel1.test:26379", "/run/sentinel.sock"});
    CHECK(c.fleet.sentinel_master == "flux-master");
    CHECK(c.fleet.queue_size == 1024);
    CHECK(c.fleet.record_clients);
    CHECK(c.metrics_address == "127.0.0.1:9167");
}

TEST_CASE("config: the test above covers every documented key", "[configuration]") {
    // describe_settings() has one "key: default  # help" line per setting.
    const std::string help = fluxguard::describe_settings();
    std::istringstream lines(help);
    int keys = 0;
    for (std::string line; std::getline(lines, line);) {
        const auto key = line.substr(0, line.find(':'));
        INFO("key '" << key << "' is documented but not in every_key");
        CHECK(("\n" + every_key).find("\n" + key + ":") != std::string::npos);
        ++keys;
    }
    CHECK(keys >= 30);
}

TEST_CASE("config: policies", "[configuration]") {
    CHECK(parse_config("policy: monitor\n" + required, "t").policy == Policy::monitor);
    CHECK(parse_config("policy: nxdomain\n" + required, "t").policy == Policy::nxdomain);
    CHECK(to_string(Policy::monitor) == "monitor");
    CHECK(to_string(Policy::nxdomain) == "nxdomain");
    CHECK(to_string(Policy::sinkhole) == "sinkhole");
}

TEST_CASE("config: defaults are the documented ones", "[configuration]") {
    const Config c = parse_config(required, "min.conf");
    CHECK(c.policy == Policy::nxdomain);
    CHECK_FALSE(c.sinkhole_ipv4);
    CHECK_FALSE(c.sinkhole_ipv6);
    CHECK(c.rewrite_ttl == 60);
    CHECK(c.allow.empty());
    CHECK(c.scoring.weight_addresses == 1.32);
    CHECK(c.scoring.weight_asns == 18.54);
    CHECK(c.scoring.weight_countries == 9.27);
    CHECK(c.scoring.weight_continents == 74.16);
    CHECK(c.scoring.weight_prefixes == 0.0);
    CHECK(c.scoring.weight_ns_addresses == 1.32);
    CHECK(c.scoring.weight_ns_asns == 18.54);
    CHECK(c.scoring.weight_ns_changes == 9.27);
    CHECK(c.scoring.weight_cross_changes == 9.27);
    CHECK(c.scoring.weight_pool == 250.0);
    CHECK(c.scoring.pool_ttl == 604800);
    CHECK(c.scoring.max_pool_entries == 1000000);
    CHECK(c.scoring.score_bias == -142.38);
    CHECK(c.scoring.threshold == 50.0);
    CHECK(c.scoring.ttl_ceiling == 1800);
    CHECK(c.scoring.min_resolutions == 2);
    CHECK(c.scoring.window == 86400);
    CHECK(c.scoring.max_domains == 100000);
    CHECK(c.scoring.max_addresses_per_domain == 256);
    CHECK_FALSE(c.fleet.redis);
    CHECK(c.fleet.server == "127.0.0.1:6379");
    CHECK(c.fleet.user.empty());
    CHECK(c.fleet.password.empty());
    CHECK(c.fleet.database == 0);
    CHECK(c.fleet.key_prefix == "fluxguard:");
    CHECK(c.fleet.sentinels.empty());
    CHECK(c.fleet.sentinel_master.empty());
    CHECK(c.fleet.queue_size == 65536);

    // describe_settings documents the same defaults, one line per key.
    const std::string help = fluxguard::describe_settings();
    for (const char* line : {"policy: nxdomain",
                             "rewrite-ttl: 60",
                             "weight-addresses: 1.32",
                             "weight-asns: 18.54",
                             "weight-countries: 9.27",
                             "weight-continents: 74.16",
                             "weight-prefixes: 0",
                             "weight-ns-addresses: 1.32",
                             "weight-ns-asns: 18.54",
                             "weight-ns-changes: 9.27",
                             "weight-cross-changes: 9.27",
                             "weight-pool: 250",
                             "pool-ttl: 604800",
                             "max-pool-entries: 1000000",
                             "score-bias: -142.38",
                             "store: memory",
                             "redis-server: 127.0.0.1:6379",
                             "redis-database: 0",
                             "redis-key-prefix: fluxguard:",
                             "redis-queue-size: 65536",
                             "flux-threshold: 50",
                             "ttl-ceiling: 1800",
                             "min-resolutions: 2",
                             "window: 86400",
                             "max-domains: 100000",
                             "max-addresses-per-domain: 256"})
        CHECK_THAT(help, Contains(std::string("\n") + line) || StartsWith(line));
}

TEST_CASE("config: comments, blank lines, quotes and whitespace", "[configuration]") {
    const Config c = parse_config(
        "# fluxguard.conf\n"
        "\n"
        "   # indented comment\n"
        "policy: monitor   # watch first\n"
        "\tasn-database:   \"/srv/geo dir/asn.mmdb\"  \r\n"
        "country-database: \"/srv/geo/country.mmdb\"\r\n"
        "allow:flux-allowed.test\n"
        "   \n",
        "c.conf");
    CHECK(c.policy == Policy::monitor);
    CHECK(c.asn_database == "/srv/geo dir/asn.mmdb");
    CHECK(c.country_database == "/srv/geo/country.mmdb");
    CHECK(c.allow == std::vector<std::string>{"flux-allowed.test"});
    // A quoted number is still a number.
    CHECK(parse_config(required + "window: \"7200\"\n", "q").scoring.window == 7200);
}

// BUG (scoring/configuration.cpp, parse_config, `line.find('#')`):
// the comment is cut at the first '#' before quotes are looked at, so a quoted
// value holding a '#' loses its tail and keeps its opening quote: the path
// below becomes '"/srv/geo' without any error (README: "values may be
// quoted"); the mistake only shows later as an mmdb path that does not exist,
// or for a redis-password holding a '#' as a failing AUTH.
TEST_CASE("config: a '#' inside a quoted value belongs to the value", "[configuration]") {
    const Config c = parse_config(
        "asn-database: \"/srv/geo #2/asn.mmdb\"  # the ASN file\n"
        "country-database: /srv/country.mmdb\n",
        "hash.conf");
    CHECK(c.asn_database == "/srv/geo #2/asn.mmdb");
}

TEST_CASE("config: error: unknown key names file:line and key", "[configuration]") {
    CHECK_THAT(config_error(required + "colour: blue\n"),
               StartsWith("test.conf:3:") && Contains("colour"));
    // Keys are case-sensitive and have no underscore spelling.
    CHECK_THAT(config_error("Policy: monitor\n" + required),
               StartsWith("test.conf:1:") && Contains("Policy"));
    CHECK_THAT(config_error(required + "\n\nmin_resolutions: 3\n"),
               StartsWith("test.conf:5:") && Contains("min_resolutions"));
}

TEST_CASE("config: error: bad value names file:line, key and value", "[configuration]") {
    CHECK_THAT(config_error(required + "policy: block\n"),
               StartsWith("test.conf:3:") && Contains("'policy'") && Contains("block"));
    CHECK_THAT(config_error("allow: not a name!\n" + required),
               StartsWith("test.conf:1:") && Contains("'allow'"));
    CHECK_THAT(config_error("allow: .\n" + required),
               StartsWith("test.conf:1:") && Contains("'allow'"));
}

TEST_CASE("config: error: duplicate key", "[configuration]") {
    CHECK_THAT(config_error("policy: monitor\n" + required + "policy: nxdomain\n"),
               StartsWith("test.conf:4:") && Contains("'policy'"));
    CHECK_THAT(config_error(required + "asn-database: /other.mmdb\n"),
               StartsWith("test.conf:3:") && Contains("'asn-database'"));
    // allow is the one key that may repeat.
    CHECK(parse_config(required + "allow: a.test\nallow: b.test\n", "t").allow.size() == 2);
}

TEST_CASE("config: error: a line without 'key: value'", "[configuration]") {
    CHECK_THAT(config_error("asn-database /geo/asn.mmdb\ncountry-database: /c.mmdb\n"),
               StartsWith("test.conf:1:") && Contains("asn-database") && Contains("key: value"));
    CHECK_THAT(config_error(required + "policy\n"),
               StartsWith("test.conf:3:") && Contains("policy"));
}

TEST_CASE("config: error: required databases", "[configuration]") {
    CHECK_THAT(config_error("country-database: /c.mmdb\npolicy: monitor\n"),
               Matches("test\\.conf:[0-9]+: .*'asn-database'.*"));
    CHECK_THAT(config_error("asn-database: /a.mmdb\n"),
               Matches("test\\.conf:[0-9]+: .*'country-database'.*"));
    CHECK_THAT(config_error(""), Matches("test\\.conf:[0-9]+: .*-database'.*"));
    // An empty value is no database either.
    CHECK_THAT(config_error("asn-database:\ncountry-database: /c.mmdb\n"),
               Matches("test\\.conf:[0-9]+: .*'asn-database'.*"));
}

TEST_CASE("config: error: sinkhole policy needs sinkhole-ipv4", "[configuration]") {
    CHECK_THAT(config_error(required + "policy: sinkhole\n"),
               StartsWith("test.conf:3:") && Contains("'policy'") && Contains("sinkhole-ipv4"));
    // sinkhole-ipv6 alone is not enough.
    CHECK_THAT(config_error("policy: sinkhole\nsinkhole-ipv6: 2001:db8::1\n" + required),
               StartsWith("test.conf:1:") && Contains("sinkhole-ipv4"));
    const Config ok = parse_config("policy: sinkhole\nsinkhole-ipv4: 192.0.2.1\n" + required, "t");
    CHECK(ok.policy == Policy::sinkhole);
}

TEST_CASE("config: error: address of the wrong family", "[configuration]") {
    CHECK_THAT(
        config_error(required + "sinkhole-ipv4: 2001:db8::1\n"),
        StartsWith("test.conf:3:") && Contains("'sinkhole-ipv4'") && Contains("2001:db8::1"));
    CHECK_THAT(config_error(required + "sinkhole-ipv6: 192.0.2.1\n"),
               StartsWith("test.conf:3:") && Contains("'sinkhole-ipv6'") && Contains("192.0.2.1"));
    CHECK_THAT(config_error(required + "sinkhole-ipv4: sinkhole.test\n"),
               StartsWith("test.conf:3:") && Contains("'sinkhole-ipv4'"));
}

TEST_CASE("config: error: integers out of range or not integers", "[configuration]") {
    using Case = std::pair<const char*, const char*>;
    const auto [key, value] = GENERATE(values<Case>({
        {"rewrite-ttl", "86401"},
        {"rewrite-ttl", "-1"},
        {"ttl-ceiling", "0"},
        {"ttl-ceiling", "604801"},
        {"min-resolutions", "0"},
        {"min-resolutions", "1001"},
        {"window", "59"},
        {"window", "2592001"},
        {"max-domains", "15"},
        {"max-domains", "100000001"},
        {"max-addresses-per-domain", "7"},
        {"max-addresses-per-domain", "65537"},
        {"pool-ttl", "59"},
        {"pool-ttl", "31536001"},
        {"redis-database", "100001"},
        {"redis-queue-size", "15"},
        {"redis-queue-size", "10000001"},
        {"max-pool-entries", "15"},
        {"max-pool-entries", "100000001"},
        {"window", "99999999999999999999"},
        {"window", "3600s"},
        {"window", "1e4"},
        {"window", "0x100"},
        {"window", "3600.0"},
        {"window", ""},
        {"window", "+3600"},
    }));
    INFO(key << ": " << value);
    CHECK_THAT(config_error(required + "\n" + key + ": " + value + "\n"),
               StartsWith("test.conf:4:") && Contains(std::string("'") + key + "'"));
}

TEST_CASE("config: integer bounds are inclusive", "[configuration]") {
    using Case = std::pair<const char*, const char*>;
    const auto [key, value] = GENERATE(values<Case>({
        {"rewrite-ttl", "0"},
        {"rewrite-ttl", "86400"},
        {"ttl-ceiling", "1"},
        {"ttl-ceiling", "604800"},
        {"min-resolutions", "1"},
        {"min-resolutions", "1000"},
        {"window", "60"},
        {"window", "2592000"},
        {"max-domains", "16"},
        {"max-domains", "100000000"},
        {"max-addresses-per-domain", "8"},
        {"max-addresses-per-domain", "65536"},
        {"pool-ttl", "60"},
        {"pool-ttl", "31536000"},
        {"redis-database", "0"},
        {"redis-database", "100000"},
        {"redis-queue-size", "16"},
        {"redis-queue-size", "10000000"},
        {"max-pool-entries", "16"},
        {"max-pool-entries", "100000000"},
    }));
    INFO(key << ": " << value);
    CHECK_NOTHROW(parse_config(required + key + ": " + value + "\n", "t"));
}

TEST_CASE("config: error: weights must be finite decimal numbers", "[configuration]") {
    const char* key =
        GENERATE("weight-addresses", "weight-asns", "weight-countries", "weight-continents",
                 "weight-prefixes",
                 "weight-ns-addresses", "weight-ns-asns", "weight-ns-changes",
                 "weight-cross-changes", "weight-pool", "score-bias", "flux-threshold");
    const char* value = GENERATE("heavy", "1.5x", "nan", "inf", "-inf", "1e999", "", "1,5");
    INFO(key << ": " << value);
    CHECK_THAT(config_error(required + key + ": " + value + "\n"),
               StartsWith("test.conf:3:") && Contains(std::string("'") + key + "'"));
}

TEST_CASE("config: error: fleet store settings", "[configuration]") {
    CHECK_THAT(config_error(required + "store: disk\n"),
               StartsWith("test.conf:3:") && Contains("'store'") && Contains("disk"));
    for (const char* bad :
         {"::1:6379", "host:", "host:0", "host:65536", ":6379", "[::1]", "host:63x"}) {
        INFO(bad);
        CHECK_THAT(config_error(required + "redis-server: " + bad + "\n"),
                   StartsWith("test.conf:3:") && Contains("'redis-server'"));
        CHECK_THAT(
            config_error(required + "redis-sentinel: " + bad + "\nredis-sentinel-master: m\n"),
            StartsWith("test.conf:3:") && Contains("'redis-sentinel'"));
    }
    for (const char* good :
         {"redis.test:6379", "[::1]:6379", "/run/redis.sock", "10.0.0.1:1", "redis.test"}) {
        INFO(good);
        CHECK(parse_config(required + "redis-server: " + good + "\n", "t").fleet.server == good);
    }
    for (const char* bad : {"{fg}:", "fg :", "a\tb", ""}) {
        INFO(bad);
        CHECK_THAT(config_error(required + "redis-key-prefix: \"" + bad + "\"\n"),
                   StartsWith("test.conf:3:") && Contains("'redis-key-prefix'"));
    }
    // Sentinels need the master's name; redis-sentinel may repeat, the others not.
    CHECK_THAT(config_error(required + "redis-sentinel: s1.test:26379\n"),
               Matches("test\\.conf:[0-9]+: .*'redis-sentinel-master'.*"));
    CHECK_THAT(config_error(required + "redis-server: a.test:1\nredis-server: b.test:1\n"),
               StartsWith("test.conf:4:") && Contains("'redis-server'"));
}

// BUG (scoring/configuration.cpp, parse_config, the "expected 'key: value'"
// error): a line without a colon is echoed whole into the error,
// which Unbound logs; for a mistyped password line that is the password,
// although redis-password is documented as "never logged".
TEST_CASE("config: a password line without a colon is not echoed", "[configuration]") {
    const std::string message = config_error(required + "redis-password hunter2-secret\n");
    CHECK_THAT(message, StartsWith("test.conf:3:"));
    CHECK_THAT(message, !Contains("hunter2-secret"));
}

TEST_CASE("config: load_config: a missing file is named", "[configuration]") {
    const TempDir dir;
    const std::string missing = (dir.path / "nope" / "fluxguard.conf").string();
    try {
        load_config(missing);
        FAIL("load_config accepted a missing file");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Contains(missing));
    }
}

TEST_CASE("config: load_config: relative database paths are taken from the file's directory",
          "[configuration]") {
    const TempDir dir;
    const std::string file = dir.write("etc/fluxguard.conf",
                                       "asn-database: asn.mmdb\n"
                                       "country-database: ../geo/./country.mmdb\n");
    const Config c = load_config(file);
    CHECK(c.path == file);
    CHECK(c.asn_database == (dir.path / "etc" / "asn.mmdb").string());
    CHECK(c.country_database == (dir.path / "geo" / "country.mmdb").string());

    const std::string absolute = dir.write("abs.conf",
                                           "asn-database: /srv/asn.mmdb\n"
                                           "country-database: \"/srv/country.mmdb\"\n");
    const Config a = load_config(absolute);
    CHECK(a.asn_database == "/srv/asn.mmdb");
    CHECK(a.country_database == "/srv/country.mmdb");
}

TEST_CASE("config: load_config: errors name the file and line", "[configuration]") {
    const TempDir dir;
    const std::string file = dir.write("bad.conf", required + "policy: maybe\n");
    try {
        load_config(file);
        FAIL("load_config accepted a bad policy");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), StartsWith(file + ":3:") && Contains("'policy'"));
    }
}

TEST_CASE("config: config_path_from_environment", "[configuration]") {
    const char* saved = std::getenv("FLUXGUARD_CONF");
    const std::string restore = saved ? saved : "";
    ::setenv("FLUXGUARD_CONF", "/tmp/elsewhere.conf", 1);
    CHECK(fluxguard::config_path_from_environment() == "/tmp/elsewhere.conf");
    ::setenv("FLUXGUARD_CONF", "", 1);
    CHECK(fluxguard::config_path_from_environment() == fluxguard::default_config_path);
    ::unsetenv("FLUXGUARD_CONF");
    CHECK(fluxguard::config_path_from_environment() == fluxguard::default_config_path);
    if (saved) ::setenv("FLUXGUARD_CONF", restore.c_str(), 1);
}
