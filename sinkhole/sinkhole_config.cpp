#include "sinkhole_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace fluxguard::sinkhole {

std::string_view to_string(PayloadEncoding e) {
    switch (e) {
        case PayloadEncoding::base64:
            return "base64";
        case PayloadEncoding::hex:
            return "hex";
    }
    return "?";
}

namespace {

using config_parser::BadValue;
using config_parser::parse_uint;

// Listening sockets at most (addresses x ports): each costs a descriptor and
// an outstanding accept; far more is a typo, not a deployment.
constexpr std::size_t max_sockets = 1024;

ListenAddress parse_address(std::string_view v) {
    std::string text(v);
    if (text.size() > 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    std::array<unsigned char, 16> bytes{};
    std::array<char, INET6_ADDRSTRLEN> canonical{};
    if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
        inet_ntop(AF_INET, bytes.data(), canonical.data(), canonical.size());
        return {canonical.data(), false};
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
        inet_ntop(AF_INET6, bytes.data(), canonical.data(), canonical.size());
        return {canonical.data(), true};
    }
    throw BadValue{"an IPv4 or IPv6 address"};
}

// "80 443, 8000-8010" or "none": sorted, without duplicates.
std::vector<std::uint16_t> parse_ports(std::string_view v) {
    const auto bad = [] {
        return BadValue{"port numbers or ranges from 1 to 65535 (e.g. '80 443 8000-8010') or none"};
    };
    std::vector<std::uint16_t> ports;
    if (v == "none") return ports;
    std::size_t pos = 0;
    while (pos < v.size()) {
        const auto start = v.find_first_not_of(" \t,", pos);
        if (start == std::string_view::npos) break;
        auto end = v.find_first_of(" \t,", start);
        if (end == std::string_view::npos) end = v.size();
        const auto item = v.substr(start, end - start);
        pos = end;
        const auto dash = item.find('-');
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        try {
            first = parse_uint(item.substr(0, dash), 1, 65535);
            last = dash == std::string_view::npos ? first
                                                  : parse_uint(item.substr(dash + 1), 1, 65535);
        } catch (const BadValue&) {
            throw bad();
        }
        if (last < first || last - first >= max_sockets) throw bad();
        for (auto p = first; p <= last; ++p) ports.push_back(static_cast<std::uint16_t>(p));
        if (ports.size() > max_sockets) throw bad();
    }
    if (ports.empty()) throw bad();
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    return ports;
}

// "host:port", "[v6]:port", "host" (port 6379) or an absolute socket path.
void parse_redis_server(RedisSinkConfig& redis, std::string_view v) {
    const auto bad = [] { return BadValue{"host:port, [IPv6]:port or an absolute socket path"}; };
    redis.unix_socket.clear();
    redis.port = 6379;
    if (v.starts_with("/")) {
        redis.unix_socket = std::string(v);
        return;
    }
    std::string_view host = v;
    std::string_view port;
    if (v.starts_with("[")) {
        const auto close = v.find(']');
        if (close == std::string_view::npos) throw bad();
        host = v.substr(1, close - 1);
        const auto rest = v.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(":")) throw bad();
            port = rest.substr(1);
        }
    } else if (const auto colon = v.rfind(':'); colon != std::string_view::npos) {
        if (v.find(':') != colon) throw bad();  // a bare IPv6 address needs brackets
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
    }
    if (host.empty() || host.find_first_of(" \t/") != std::string_view::npos) throw bad();
    if (!port.empty()) {
        try {
            redis.port = static_cast<std::uint16_t>(parse_uint(port, 1, 65535));
        } catch (const BadValue&) {
            throw bad();
        }
    } else if (v.ends_with(":")) {
        throw bad();
    }
    redis.host = std::string(host);
}

// Every setting, its default and help; the handlers write into `c`.
std::vector<config_parser::Key> settings(SinkholeConfig& c) {
    return {
        {"listen", "(required)",
         "an IPv4 or IPv6 address to listen on (the sinkhole-ipv4 / sinkhole-ipv6 of "
         "fluxguard.conf); repeat the key for more",
         [&c](std::string_view v) {
             auto address = parse_address(v);
             if (std::find(c.listen.begin(), c.listen.end(), address) != c.listen.end())
                 throw BadValue{"an address not listed before"};
             c.listen.push_back(std::move(address));
         },
         /*repeatable=*/true},
        {"tcp-ports", "80 443", "TCP ports to listen on at every address: numbers, ranges or none",
         [&c](std::string_view v) { c.tcp_ports = parse_ports(v); }},
        {"udp-ports", "none",
         "UDP ports to listen on at every address; datagrams are recorded, never answered",
         [&c](std::string_view v) { c.udp_ports = parse_ports(v); }},
        {"user", "(none)",
         "after binding, switch to this user and its group and drop every capability; "
         "required when started as root",
         [&c](std::string_view v) {
             if (v.empty() || v == "root" || v.find_first_of(" \t:/") != std::string_view::npos)
                 throw BadValue{"the name of an unprivileged user"};
             c.user = std::string(v);
         }},
        {"records-file", "(required)",
         "JSON Lines file the records are appended to, '-' for standard output; opened "
         "before privileges are dropped, reopened on SIGHUP",
         [&c](std::string_view v) {
             if (v.empty()) throw BadValue{"a file path or -"};
             c.records_file = std::string(v);
         }},
        {"record-bytes", "256", "first bytes of each connection or datagram kept in its record",
         [&c](std::string_view v) { c.record_bytes = parse_uint(v, 0, 65536); }},
        {"record-encoding", "base64", "how those bytes are written: base64 or hex",
         [&c](std::string_view v) {
             if (v == "base64")
                 c.record_encoding = PayloadEncoding::base64;
             else if (v == "hex")
                 c.record_encoding = PayloadEncoding::hex;
             else
                 throw BadValue{"base64 or hex"};
         }},
        {"max-sniff-bytes", "8192",
         "bytes read from a connection at most; what comes later is never read",
         [&c](std::string_view v) { c.max_sniff_bytes = parse_uint(v, 64, 65536); }},
        {"idle-timeout", "10", "seconds a connection may stay silent before it is closed",
         [&c](std::string_view v) {
             c.idle_timeout = std::chrono::seconds(parse_uint(v, 1, 3600));
         }},
        {"max-connection-time", "30",
         "seconds a connection may stay open at all, however it trickles (slowloris)",
         [&c](std::string_view v) {
             c.max_connection_time = std::chrono::seconds(parse_uint(v, 1, 3600));
         }},
        {"max-connections", "10000",
         "open TCP connections at most; beyond it the oldest is closed to make room",
         [&c](std::string_view v) { c.max_connections = parse_uint(v, 1, 1000000); }},
        {"max-records-per-second", "10000",
         "records written per second at most (0: no limit); more are counted, not written",
         [&c](std::string_view v) {
             c.max_records_per_second = static_cast<std::uint32_t>(parse_uint(v, 0, 10000000));
         }},
        {"queue-size", "16384",
         "records waiting for the file or for Redis at most; more are dropped and counted, "
         "never waited for",
         [&c](std::string_view v) { c.queue_size = parse_uint(v, 16, 10000000); }},
        {"redis", "no", "also write records and per-host aggregates to Redis: yes or no",
         [&c](std::string_view v) { c.redis.enabled = config_parser::parse_yes_no(v); }},
        {"redis-server", "127.0.0.1:6379", "Redis address: host:port, [IPv6]:port or a socket path",
         [&c](std::string_view v) { parse_redis_server(c.redis, v); }},
        {"redis-user", "(none)", "ACL user name (Redis 6+)",
         [&c](std::string_view v) { c.redis.user = std::string(v); }},
        {"redis-password", "(none)", "password for AUTH; never logged",
         [&c](std::string_view v) { c.redis.password = std::string(v); },
         /*repeatable=*/false, /*secret=*/true},
        {"redis-database", "0", "database index",
         [&c](std::string_view v) {
             c.redis.database = static_cast<int>(parse_uint(v, 0, 100000));
         }},
        {"redis-key-prefix", "fluxguard:", "prefix of every key (the resolver's redis-key-prefix)",
         [&c](std::string_view v) {
             if (v.empty() || v.find_first_of("{} \t") != std::string_view::npos)
                 throw BadValue{"a non-empty prefix without braces or spaces"};
             c.redis.key_prefix = std::string(v);
         }},
        {"redis-stream-length", "1000000",
         "entries the hits stream is trimmed to (approximately: XADD MAXLEN ~)",
         [&c](std::string_view v) { c.redis.stream_length = parse_uint(v, 1, 1000000000); }},
        {"redis-max-hosts", "1000000",
         "client addresses kept in the hosts index at most; the least recently seen go first",
         [&c](std::string_view v) { c.redis.max_hosts = parse_uint(v, 1, 1000000000); }},
        {"redis-host-ttl", "2592000",
         "seconds a client's keys live after its last hit (0: forever)",
         [&c](std::string_view v) {
             c.redis.host_ttl = static_cast<std::uint32_t>(parse_uint(v, 0, 315360000));
         }},
        {"redis-max-set-size", "1000", "domains and ports kept per client at most",
         [&c](std::string_view v) { c.redis.max_set_size = parse_uint(v, 1, 1000000); }},
        {"redis-connect-timeout", "500", "milliseconds to connect to Redis",
         [&c](std::string_view v) {
             c.redis.connect_timeout = std::chrono::milliseconds(parse_uint(v, 10, 60000));
         }},
        {"redis-command-timeout", "1000", "milliseconds a batch of commands may take",
         [&c](std::string_view v) {
             c.redis.command_timeout = std::chrono::milliseconds(parse_uint(v, 10, 60000));
         }},
    };
}

}  // namespace

SinkholeConfig parse_config(std::string_view text, const std::string& file) {
    SinkholeConfig config;
    config.path = file;
    const auto lines =
        config_parser::parse(text, file, settings(config), config_parser::UnsplitLine::quoted);
    if (config.listen.empty())
        throw ConfigError(fmt::format("{}:{}: key 'listen' is required", file, lines.last));
    if (config.records_file.empty())
        throw ConfigError(fmt::format("{}:{}: key 'records-file' is required", file, lines.last));
    if (config.tcp_ports.empty() && config.udp_ports.empty())
        throw ConfigError(fmt::format("{}:{}: key 'udp-ports': no TCP nor UDP port to listen on",
                                      file, lines.of("udp-ports")));
    if (config.listen.size() * (config.tcp_ports.size() + config.udp_ports.size()) > max_sockets)
        throw ConfigError(fmt::format(
            "{}:{}: key 'listen': {} addresses x {} ports is more than {} listening sockets", file,
            lines.of("listen"), config.listen.size(),
            config.tcp_ports.size() + config.udp_ports.size(), max_sockets));
    if (config.record_bytes > config.max_sniff_bytes)
        throw ConfigError(fmt::format(
            "{}:{}: key 'record-bytes': bad value '{}', expected at most max-sniff-bytes ({})",
            file, lines.of("record-bytes"), config.record_bytes, config.max_sniff_bytes));
    if (config.max_connection_time < config.idle_timeout)
        throw ConfigError(fmt::format(
            "{}:{}: key 'max-connection-time': bad value '{}', expected at least idle-timeout ({})",
            file, lines.of("max-connection-time"), config.max_connection_time.count(),
            config.idle_timeout.count()));
    return config;
}

SinkholeConfig load_config(const std::string& path) {
    return parse_config(config_parser::read_file(path), path);
}

std::string describe_settings() {
    SinkholeConfig unused;
    return config_parser::describe(settings(unused));
}

}  // namespace fluxguard::sinkhole
