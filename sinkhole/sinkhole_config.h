// sinkhole.conf: the settings of fluxguard-sinkhole, in the same format as
// fluxguard.conf (`key: value`, `#` comments, values may be quoted). Every
// setting is declared once (key, default, help) in sinkhole_config.cpp; the
// parser is fluxguard.conf's (scoring/config_parser.h); errors name file:line,
// key, value and what was expected.
// Loaded once at start-up; the result is immutable and may be shared by threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config_parser.h"

namespace fluxguard::sinkhole {

// How the first bytes of a connection or datagram appear in a record.
enum class PayloadEncoding { base64, hex };
std::string_view to_string(PayloadEncoding);

struct ListenAddress {
    std::string text;  // canonical form (inet_ntop of inet_pton)
    bool ipv6 = false;
    friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

struct RedisSinkConfig {
    bool enabled = false;
    // "host:port", "[v6]:port" or an absolute unix socket path.
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string unix_socket;  // non-empty: connect here instead of host:port
    std::string user;
    std::string password;
    int database = 0;
    std::string key_prefix = "fluxguard:";
    std::size_t stream_length = 1000000;
    std::size_t max_hosts = 1000000;
    std::uint32_t host_ttl = 2592000;
    std::size_t max_set_size = 1000;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{1000};
};

struct SinkholeConfig {
    std::string path;
    std::vector<ListenAddress> listen;
    std::vector<std::uint16_t> tcp_ports = {80, 443};
    std::vector<std::uint16_t> udp_ports;
    std::string user;
    std::string records_file;  // "-" is standard output
    std::size_t record_bytes = 256;
    PayloadEncoding record_encoding = PayloadEncoding::base64;
    std::size_t max_sniff_bytes = 8192;
    std::chrono::seconds idle_timeout{10};
    std::chrono::seconds max_connection_time{30};
    std::size_t max_connections = 10000;
    std::uint32_t max_records_per_second = 10000;  // 0: no limit
    std::size_t queue_size = 16384;
    RedisSinkConfig redis;
};

// The error of the parser shared with fluxguard.conf (config_parser.h).
using fluxguard::ConfigError;

// Reads and validates a file. Throws ConfigError("file:line: key 'k': ...").
SinkholeConfig load_config(const std::string& path);

// Same, from text already in memory (tests); `file` names it in errors.
SinkholeConfig parse_config(std::string_view text, const std::string& file);

// One line per setting ("key: default  # help"), for --help and the README.
std::string describe_settings();

}  // namespace fluxguard::sinkhole
