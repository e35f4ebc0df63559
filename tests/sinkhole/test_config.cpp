// sinkhole.conf: defaults, every kind of value, and errors that name
// file:line, key, value and what was expected.
#include <catch2/catch.hpp>
#include <filesystem>

#include "sinkhole_config.h"

using namespace fluxguard::sinkhole;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

const std::string minimal = "listen: 192.0.2.1\nrecords-file: /var/lib/fluxguard/hits.jsonl\n";

// The message parse_config throws, or "" (failing the caller's check) if it
// accepts the text.
std::string config_error(const std::string& text) {
    try {
        parse_config(text, "sinkhole.conf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL_CHECK("accepted:\n" << text);
    return "";
}

}  // namespace

TEST_CASE("a minimal configuration gets the documented defaults", "[config]") {
    const auto c = parse_config(minimal, "sinkhole.conf");
    CHECK(c.path == "sinkhole.conf");
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].text == "192.0.2.1");
    CHECK_FALSE(c.listen[0].ipv6);
    CHECK(c.tcp_ports == std::vector<std::uint16_t>{80, 443});
    CHECK(c.udp_ports.empty());
    CHECK(c.user.empty());
    CHECK(c.record_bytes == 256);
    CHECK(c.record_encoding == PayloadEncoding::base64);
    CHECK(c.max_sniff_bytes == 8192);
    CHECK(c.idle_timeout == std::chrono::seconds(10));
    CHECK(c.max_connection_time == std::chrono::seconds(30));
    CHECK(c.max_connections == 10000);
    CHECK(c.max_records_per_second == 10000);
    CHECK_FALSE(c.redis.enabled);
    CHECK(c.redis.host == "127.0.0.1");
    CHECK(c.redis.port == 6379);
    CHECK(c.redis.key_prefix == "fluxguard:");
    CHECK(c.redis.stream_length == 1000000);
}

TEST_CASE("every setting takes its value", "[config]") {
    const auto c = parse_config(
        "# a comment line\n"
        "listen: 192.0.2.1   # trailing comment\n"
        "listen: [2001:DB8::0:1]\n"
        "tcp-ports: 443, 80 8000-8002\n"
        "udp-ports: 53 123\n"
        "user: nobody\n"
        "records-file: \"/var/lib/sink #1/hits.jsonl\"\n"
        "record-bytes: 64\n"
        "record-encoding: hex\n"
        "max-sniff-bytes: 4096\n"
        "idle-timeout: 5\n"
        "max-connection-time: 20\n"
        "max-connections: 5000\n"
        "max-records-per-second: 0\n"
        "queue-size: 1000\n"
        "redis: yes\n"
        "redis-server: [::1]:6380\n"
        "redis-user: sinkhole\n"
        "redis-password: \"p#ss word\"\n"
        "redis-database: 2\n"
        "redis-key-prefix: fg:\n"
        "redis-stream-length: 5000\n"
        "redis-max-hosts: 100\n"
        "redis-host-ttl: 0\n"
        "redis-max-set-size: 10\n"
        "redis-connect-timeout: 250\n"
        "redis-command-timeout: 750\n",
        "full.conf");
    REQUIRE(c.listen.size() == 2);
    CHECK(c.listen[1].text == "2001:db8::1");
    CHECK(c.listen[1].ipv6);
    CHECK(c.tcp_ports == std::vector<std::uint16_t>{80, 443, 8000, 8001, 8002});
    CHECK(c.udp_ports == std::vector<std::uint16_t>{53, 123});
    CHECK(c.user == "nobody");
    CHECK(c.records_file == "/var/lib/sink #1/hits.jsonl");
    CHECK(c.record_bytes == 64);
    CHECK(c.record_encoding == PayloadEncoding::hex);
    CHECK(c.max_sniff_bytes == 4096);
    CHECK(c.idle_timeout == std::chrono::seconds(5));
    CHECK(c.max_connection_time == std::chrono::seconds(20));
    CHECK(c.max_connections == 5000);
    CHECK(c.max_records_per_second == 0);
    CHECK(c.queue_size == 1000);
    CHECK(c.redis.enabled);
    CHECK(c.redis.host == "::1");
    CHECK(c.redis.port == 6380);
    CHECK(c.redis.user == "sinkhole");
    CHECK(c.redis.password == "p#ss word");
    CHECK(c.redis.database == 2);
    CHECK(c.redis.key_prefix == "fg:");
    CHECK(c.redis.stream_length == 5000);
    CHECK(c.redis.max_hosts == 100);
    CHECK(c.redis.host_ttl == 0);
    CHECK(c.redis.max_set_size == 10);
    CHECK(c.redis.connect_timeout == std::chrono::milliseconds(250));
    CHECK(c.redis.command_timeout == std::chrono::milliseconds(750));
}

TEST_CASE("redis-server forms", "[config]") {
    const auto server = [](const std::string& v) {
        return parse_config(minimal + "redis-server: " + v + "\n", "s.conf").redis;
    };
    CHECK(server("redis.internal").host == "redis.internal");
    CHECK(server("redis.internal").port == 6379);
    CHECK(server("10.0.0.5:7000").port == 7000);
    CHECK(server("[::1]").host == "::1");
    CHECK(server("/run/redis/redis.sock").unix_socket == "/run/redis/redis.sock");
    for (const char* bad : {"::1", "host:", "host:0", "host:99999", "[::1", "[::1]x", ":6379"}) {
        INFO(bad);
        CHECK_THAT(config_error(minimal + "redis-server: " + bad + "\n"),
                   Contains("sinkhole.conf:3: key 'redis-server': bad value"));
    }
}

TEST_CASE("errors name file, line, key, value and what was expected", "[config]") {
    CHECK_THAT(config_error(minimal + "idle-timeout: soon\n"),
               Equals("sinkhole.conf:3: key 'idle-timeout': bad value 'soon', expected an integer "
                      "from 1 to 3600"));
    CHECK_THAT(config_error(minimal + "\nidle-timout: 5\n"),
               Equals("sinkhole.conf:4: unknown key 'idle-timout'"));
    CHECK_THAT(config_error(minimal + "just words\n"),
               Equals("sinkhole.conf:3: expected 'key: value', got 'just words'"));
    CHECK_THAT(config_error("listen: 192.0.2.300\n"),
               Equals("sinkhole.conf:1: key 'listen': bad value '192.0.2.300', expected an IPv4 or "
                      "IPv6 address"));
    CHECK_THAT(config_error(minimal + "record-encoding: rot13\n"),
               Equals("sinkhole.conf:3: key 'record-encoding': bad value 'rot13', expected base64 "
                      "or hex"));
    CHECK_THAT(config_error(minimal + "redis: maybe\n"),
               Equals("sinkhole.conf:3: key 'redis': bad value 'maybe', expected yes or no"));
    CHECK_THAT(config_error(minimal + "user: root\n"),
               Contains("sinkhole.conf:3: key 'user': bad value 'root'"));
    CHECK_THAT(config_error(minimal + "redis-key-prefix: a{b}\n"),
               Contains("sinkhole.conf:3: key 'redis-key-prefix': bad value 'a{b}'"));
}

TEST_CASE("port lists and ranges", "[config]") {
    for (const char* bad : {"0", "65536", "80-70", "http", "80,,x", "1-2000", ""}) {
        INFO(bad);
        CHECK_THAT(config_error(minimal + "tcp-ports: " + bad + "\n"),
                   Contains("sinkhole.conf:3: key 'tcp-ports': bad value"));
    }
    CHECK_THAT(config_error(minimal + "tcp-ports: none\nudp-ports: none\n"),
               Contains("sinkhole.conf:4: key 'udp-ports': no TCP nor UDP port"));
    const auto c = parse_config(minimal + "tcp-ports: 80 80 79-81\n", "s.conf");
    CHECK(c.tcp_ports == std::vector<std::uint16_t>{79, 80, 81});
}

TEST_CASE("keys given twice, duplicate addresses, missing keys", "[config]") {
    CHECK_THAT(config_error(minimal + "idle-timeout: 5\nidle-timeout: 6\n"),
               Equals("sinkhole.conf:4: key 'idle-timeout' given twice (first on line 3)"));
    CHECK_THAT(config_error(minimal + "listen: 192.0.2.1\n"),
               Contains("sinkhole.conf:3: key 'listen': bad value '192.0.2.1', expected an address "
                        "not listed before"));
    CHECK_THAT(config_error("records-file: /x\n"),
               Equals("sinkhole.conf:1: key 'listen' is required"));
    CHECK_THAT(config_error("listen: ::1\n\n"),
               Equals("sinkhole.conf:2: key 'records-file' is required"));
}

TEST_CASE("settings that contradict each other", "[config]") {
    CHECK_THAT(config_error(minimal + "max-sniff-bytes: 100\nrecord-bytes: 200\n"),
               Equals("sinkhole.conf:4: key 'record-bytes': bad value '200', expected at most "
                      "max-sniff-bytes (100)"));
    CHECK_THAT(config_error(minimal + "max-connection-time: 5\nidle-timeout: 10\n"),
               Contains("sinkhole.conf:3: key 'max-connection-time': bad value '5', expected at "
                        "least idle-timeout (10)"));
    std::string many = "records-file: /x\ntcp-ports: 1-1000\n";
    for (int i = 1; i <= 3; ++i) many += "listen: 192.0.2." + std::to_string(i) + "\n";
    CHECK_THAT(config_error(many), Contains("more than 1024 listening sockets"));
}

TEST_CASE("control bytes in a bad value are shown escaped", "[config]") {
    CHECK_THAT(config_error(minimal + "record-encoding: a\x1b[2Jb\n"),
               Contains("bad value 'a\\x1b[2Jb'"));
}

TEST_CASE("load_config names an unreadable file", "[config]") {
    try {
        load_config("/nonexistent/sinkhole.conf");
        FAIL("accepted a missing file");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Equals("/nonexistent/sinkhole.conf:0: cannot read configuration: No "
                                    "such file or directory"));
    }
}

TEST_CASE("the shipped example configuration is valid", "[config]") {
    const auto c = load_config(FLUXGUARD_SINKHOLE_EXAMPLE);
    CHECK_FALSE(c.listen.empty());
    CHECK_FALSE(describe_settings().empty());
    CHECK_THAT(describe_settings(), Contains("max-sniff-bytes: 8192  # "));
}
