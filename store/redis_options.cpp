#include "redis_options.h"

#include <charconv>

namespace fluxguard {

std::string RedisEndpoint::to_string() const {
    if (is_unix()) return unix_path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

bool valid_host(std::string_view host) {
    if (host.empty()) return false;
    for (char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '/' || c == '[' || c == ']') return false;
    }
    return true;
}

}  // namespace

std::optional<RedisEndpoint> parse_endpoint(std::string_view text) {
    RedisEndpoint ep;
    if (text.empty()) return std::nullopt;
    if (text.front() == '/') {
        ep.unix_path = std::string(text);
        return ep;
    }
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        ep.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            auto port = parse_port(rest.substr(1));
            if (!port) return std::nullopt;
            ep.port = *port;
        }
        if (ep.host.find(':') == std::string::npos || !valid_host(ep.host)) return std::nullopt;
        return ep;
    }
    const auto first = text.find(':');
    const bool one_colon =
        first != std::string_view::npos && text.find(':', first + 1) == std::string_view::npos;
    if (one_colon) {
        ep.host = std::string(text.substr(0, first));
        auto port = parse_port(text.substr(first + 1));
        if (!port) return std::nullopt;
        ep.port = *port;
    } else {
        // No colon: a host alone. Several and no brackets: a bare IPv6 literal.
        ep.host = std::string(text);
    }
    if (!valid_host(ep.host)) return std::nullopt;
    return ep;
}

std::vector<std::string> validate(const RedisOptions& o) {
    std::vector<std::string> problems;
    auto check_endpoint = [&](const RedisEndpoint& ep, const std::string& what) {
        if (ep.is_unix()) {
            if (ep.unix_path.front() != '/')
                problems.push_back(what + " '" + ep.unix_path +
                                   "': a socket path must be absolute");
        } else if (!valid_host(ep.host)) {
            problems.push_back(what + " '" + ep.host + "': expected a host name or IP address");
        } else if (ep.port == 0) {
            problems.push_back(what + " '" + ep.to_string() + "': port 0 is not a valid port");
        }
    };
    if (o.sentinels.empty()) check_endpoint(o.address, "address");
    for (const auto& s : o.sentinels) {
        if (s.is_unix())
            problems.push_back("sentinel '" + s.unix_path + "': sentinels are reached over TCP");
        else
            check_endpoint(s, "sentinel");
    }
    if (!o.sentinels.empty() && o.sentinel_master.empty())
        problems.push_back("sentinel-master: required when sentinels are set");
    if (o.sentinels.empty() && !o.sentinel_master.empty())
        problems.push_back("sentinel-master '" + o.sentinel_master +
                           "': set but no sentinels given");
    if (!o.username.empty() && o.password.empty())
        problems.push_back("username '" + o.username + "': an ACL user needs a password");
    if (!o.sentinel_username.empty() && o.sentinel_password.empty())
        problems.push_back("sentinel-username '" + o.sentinel_username +
                           "': an ACL user needs a password");
    if (o.database < 0 || o.database > 65535)
        problems.push_back("database " + std::to_string(o.database) +
                           ": expected an index from 0 to 65535");
    if (o.key_prefix.find_first_of("{}") != std::string::npos)
        problems.push_back("key-prefix '" + o.key_prefix +
                           "': must not contain '{' or '}' (they delimit Redis Cluster hash tags)");
    if (o.key_prefix.size() > 64) problems.push_back("key-prefix: longer than 64 bytes");
    auto positive = [&](std::chrono::milliseconds v, const char* name) {
        if (v.count() <= 0)
            problems.push_back(std::string(name) + " " + std::to_string(v.count()) +
                               "ms: must be positive");
    };
    positive(o.connect_timeout, "connect-timeout");
    positive(o.command_timeout, "command-timeout");
    positive(o.resync_interval, "resync-interval");
    positive(o.reconnect_backoff_initial, "reconnect-backoff-initial");
    if (o.reconnect_backoff_max < o.reconnect_backoff_initial)
        problems.push_back("reconnect-backoff-max " +
                           std::to_string(o.reconnect_backoff_max.count()) +
                           "ms: must not be below reconnect-backoff-initial");
    if (o.queue_capacity == 0) problems.push_back("queue-capacity: must be at least 1");
    if (o.batch_size == 0 || o.batch_size > 10'000)
        problems.push_back("batch-size " + std::to_string(o.batch_size) + ": expected 1 to 10000");
    if (o.entry_ttl.count() <= 0)
        problems.push_back("entry-ttl " + std::to_string(o.entry_ttl.count()) +
                           "s: must be positive");
    if (o.max_members_per_domain == 0 || o.max_members_per_domain > 100'000)
        problems.push_back("max-members-per-domain " + std::to_string(o.max_members_per_domain) +
                           ": expected 1 to 100000");
    return problems;
}

std::string describe(const RedisOptions& o) {
    std::string s;
    if (o.sentinels.empty()) {
        s = "redis " + o.address.to_string();
    } else {
        s = "redis master '" + o.sentinel_master + "' via sentinels";
        for (std::size_t i = 0; i < o.sentinels.size(); ++i)
            s += (i == 0 ? " " : ",") + o.sentinels[i].to_string();
    }
    s += " db " + std::to_string(o.database);
    if (!o.username.empty()) s += " user '" + o.username + "'";
    return s;
}

}  // namespace fluxguard
