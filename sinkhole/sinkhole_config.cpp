#include "sinkhole_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

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

// Thrown by a setting's parser; the caller adds file, line, key and value.
struct BadValue {
    std::string expected;
};

// Listening sockets at most (addresses x ports): each costs a descriptor and
// an outstanding accept; far more is a typo, not a deployment.
constexpr std::size_t max_sockets = 1024;

std::uint64_t parse_uint(std::string_view v, std::uint64_t min, std::uint64_t max) {
    std::uint64_t out = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || end != v.data() + v.size() || out < min || out > max)
        throw BadValue{fmt::format("an integer from {} to {}", min, max)};
    return out;
}

bool parse_yes_no(std::string_view v) {
    if (v == "yes") return true;
    if (v == "no") return false;
    throw BadValue{"yes or no"};
}

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

struct Setting {
    std::string_view key;
    std::string_view default_text;
    std::string_view help;
    bool repeatable;
    std::function<void(SinkholeConfig&, std::string_view)> apply;
};

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = {
        {"listen", "(required)",
         "an IPv4 or IPv6 address to listen on (the sinkhole-ipv4 / sinkhole-ipv6 of "
         "fluxguard.conf); repeat the key for more",
         true,
         [](SinkholeConfig& c, std::string_view v) {
             auto address = parse_address(v);
             if (std::find(c.listen.begin(), c.listen.end(), address) != c.listen.end())
                 throw BadValue{"an address not listed before"};
             c.listen.push_back(std::move(address));
         }},
        {"tcp-ports", "80 443", "TCP ports to listen on at every address: numbers, ranges or none",
         false, [](SinkholeConfig& c, std::string_view v) { c.tcp_ports = parse_ports(v); }},
        {"udp-ports", "none",
         "UDP ports to listen on at every address; datagrams are recorded, never answered", false,
         [](SinkholeConfig& c, std::string_view v) { c.udp_ports = parse_ports(v); }},
        {"user", "(none)",
         "after binding, switch to this user and its group and drop every capability; "
         "required when started as root",
         false,
         [](SinkholeConfig& c, std::string_view v) {
             if (v.empty() || v == "root" || v.find_first_of(" \t:/") != std::string_view::npos)
                 throw BadValue{"the name of an unprivileged user"};
             c.user = std::string(v);
         }},
        {"records-file", "(required)",
         "JSON Lines file the records are appended to, '-' for standard output; opened "
         "before privileges are dropped, reopened on SIGHUP",
         false,
         [](SinkholeConfig& c, std::string_view v) {
             if (v.empty()) throw BadValue{"a file path or -"};
             c.records_file = std::string(v);
         }},
        {"record-bytes", "256", "first bytes of each connection or datagram kept in its record",
         false,
         [](SinkholeConfig& c, std::string_view v) { c.record_bytes = parse_uint(v, 0, 65536); }},
        {"record-encoding", "base64", "how those bytes are written: base64 or hex", false,
         [](SinkholeConfig& c, std::string_view v) {
             if (v == "base64")
                 c.record_encoding = PayloadEncoding::base64;
             else if (v == "hex")
                 c.record_encoding = PayloadEncoding::hex;
             else
                 throw BadValue{"base64 or hex"};
         }},
        {"max-sniff-bytes", "8192",
         "bytes read from a connection at most; what comes later is never read", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.max_sniff_bytes = parse_uint(v, 64, 65536);
         }},
        {"idle-timeout", "10", "seconds a connection may stay silent before it is closed", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.idle_timeout = std::chrono::seconds(parse_uint(v, 1, 3600));
         }},
        {"max-connection-time", "30",
         "seconds a connection may stay open at all, however it trickles (slowloris)", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.max_connection_time = std::chrono::seconds(parse_uint(v, 1, 3600));
         }},
        {"max-connections", "10000",
         "open TCP connections at most; beyond it the oldest is closed to make room", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.max_connections = parse_uint(v, 1, 1000000);
         }},
        {"max-records-per-second", "10000",
         "records written per second at most (0: no limit); more are counted, not written", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.max_records_per_second = static_cast<std::uint32_t>(parse_uint(v, 0, 10000000));
         }},
        {"queue-size", "16384",
         "records waiting for the file or for Redis at most; more are dropped and counted, "
         "never waited for",
         false,
         [](SinkholeConfig& c, std::string_view v) { c.queue_size = parse_uint(v, 16, 10000000); }},
        {"redis", "no", "also write records and per-host aggregates to Redis: yes or no", false,
         [](SinkholeConfig& c, std::string_view v) { c.redis.enabled = parse_yes_no(v); }},
        {"redis-server", "127.0.0.1:6379", "Redis address: host:port, [IPv6]:port or a socket path",
         false, [](SinkholeConfig& c, std::string_view v) { parse_redis_server(c.redis, v); }},
        {"redis-user", "(none)", "ACL user name (Redis 6+)", false,
         [](SinkholeConfig& c, std::string_view v) { c.redis.user = std::string(v); }},
        {"redis-password", "(none)", "password for AUTH; never logged", false,
         [](SinkholeConfig& c, std::string_view v) { c.redis.password = std::string(v); }},
        {"redis-database", "0", "database index", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.database = static_cast<int>(parse_uint(v, 0, 100000));
         }},
        {"redis-key-prefix", "fluxguard:", "prefix of every key (the resolver's redis-key-prefix)",
         false,
         [](SinkholeConfig& c, std::string_view v) {
             if (v.empty() || v.find_first_of("{} \t") != std::string_view::npos)
                 throw BadValue{"a non-empty prefix without braces or spaces"};
             c.redis.key_prefix = std::string(v);
         }},
        {"redis-stream-length", "1000000",
         "entries the hits stream is trimmed to (approximately: XADD MAXLEN ~)", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.stream_length = parse_uint(v, 1, 1000000000);
         }},
        {"redis-max-hosts", "1000000",
         "client addresses kept in the hosts index at most; the least recently seen go first",
         false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.max_hosts = parse_uint(v, 1, 1000000000);
         }},
        {"redis-host-ttl", "2592000",
         "seconds a client's keys live after its last hit (0: forever)", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.host_ttl = static_cast<std::uint32_t>(parse_uint(v, 0, 315360000));
         }},
        {"redis-max-set-size", "1000", "domains and ports kept per client at most", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.max_set_size = parse_uint(v, 1, 1000000);
         }},
        {"redis-connect-timeout", "500", "milliseconds to connect to Redis", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.connect_timeout = std::chrono::milliseconds(parse_uint(v, 10, 60000));
         }},
        {"redis-command-timeout", "1000", "milliseconds a batch of commands may take", false,
         [](SinkholeConfig& c, std::string_view v) {
             c.redis.command_timeout = std::chrono::milliseconds(parse_uint(v, 10, 60000));
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

// A configuration line quoted back in an error: control bytes escaped.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f)
            out += static_cast<char>(c);
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

// The line without its comment: '#' starts one unless inside double quotes.
std::string_view strip_comment(std::string_view line) {
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (line[i] == '#' && !quoted)
            return line.substr(0, i);
    }
    return line;
}

}  // namespace

SinkholeConfig parse_config(std::string_view text, const std::string& file) {
    SinkholeConfig config;
    config.path = file;
    const auto& table = settings();
    std::vector<std::size_t> seen_line(table.size(), 0);
    std::size_t line_no = 0;
    std::istringstream in{std::string(text)};
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        const auto line = trim(strip_comment(raw));
        if (line.empty()) continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            throw ConfigError(fmt::format("{}:{}: expected 'key: value', got '{}'", file, line_no,
                                          printable(line)));
        const auto key = trim(line.substr(0, colon));
        auto value = trim(line.substr(colon + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        const auto it = std::find_if(table.begin(), table.end(),
                                     [&](const Setting& s) { return s.key == key; });
        if (it == table.end())
            throw ConfigError(
                fmt::format("{}:{}: unknown key '{}'", file, line_no, printable(key)));
        const auto index = static_cast<std::size_t>(it - table.begin());
        if (seen_line[index] != 0 && !it->repeatable)
            throw ConfigError(fmt::format("{}:{}: key '{}' given twice (first on line {})", file,
                                          line_no, key, seen_line[index]));
        seen_line[index] = line_no;
        try {
            it->apply(config, value);
        } catch (const BadValue& bad) {
            throw ConfigError(
                fmt::format("{}:{}: key '{}': bad value '{}', expected {}", file, line_no, key,
                            key == "redis-password" ? "***" : printable(value), bad.expected));
        }
    }
    const auto line_of = [&](std::string_view key) {
        for (std::size_t i = 0; i < table.size(); ++i)
            if (table[i].key == key) return seen_line[i] != 0 ? seen_line[i] : line_no;
        return line_no;
    };
    if (config.listen.empty())
        throw ConfigError(fmt::format("{}:{}: key 'listen' is required", file, line_no));
    if (config.records_file.empty())
        throw ConfigError(fmt::format("{}:{}: key 'records-file' is required", file, line_no));
    if (config.tcp_ports.empty() && config.udp_ports.empty())
        throw ConfigError(fmt::format("{}:{}: key 'udp-ports': no TCP nor UDP port to listen on",
                                      file, line_of("udp-ports")));
    if (config.listen.size() * (config.tcp_ports.size() + config.udp_ports.size()) > max_sockets)
        throw ConfigError(fmt::format(
            "{}:{}: key 'listen': {} addresses x {} ports is more than {} listening sockets", file,
            line_of("listen"), config.listen.size(),
            config.tcp_ports.size() + config.udp_ports.size(), max_sockets));
    if (config.record_bytes > config.max_sniff_bytes)
        throw ConfigError(fmt::format(
            "{}:{}: key 'record-bytes': bad value '{}', expected at most max-sniff-bytes ({})",
            file, line_of("record-bytes"), config.record_bytes, config.max_sniff_bytes));
    if (config.max_connection_time < config.idle_timeout)
        throw ConfigError(fmt::format(
            "{}:{}: key 'max-connection-time': bad value '{}', expected at least idle-timeout ({})",
            file, line_of("max-connection-time"), config.max_connection_time.count(),
            config.idle_timeout.count()));
    return config;
}

SinkholeConfig load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}:0: cannot read configuration: {}", path,
                                      std::generic_category().message(errno)));
    std::stringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path);
}

std::string describe_settings() {
    std::string out;
    for (const auto& s : settings())
        out += fmt::format("{}: {}  # {}\n", s.key, s.default_text, s.help);
    return out;
}

}  // namespace fluxguard::sinkhole
