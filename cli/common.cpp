#include "common.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <set>

#include "dns_name.h"
#include "redis_client.h"

namespace fluxguard::cli {

ToolKeys::ToolKeys(const std::string& p)
    : allow(p + "allow"),
      expires(p + "expires"),
      expires_addr(p + "expires:addr"),
      audit(p + "audit"),
      sinkhole_hits(p + "sinkhole:hits"),
      prefix(p) {}

std::string ToolKeys::allow_entry(std::string_view domain) const {
    return prefix + "allow:{" + KeyLayout::encode_domain(domain) + "}";
}

RedisOptions redis_options_from(const Config& config) {
    RedisOptions options;
    auto server = parse_endpoint(config.fleet.server);
    if (!server)
        throw ConfigError(fmt::format("{}: key 'redis-server': bad value '{}'", config.path,
                                      config.fleet.server));
    options.address = *server;
    options.username = config.fleet.user;
    options.password = config.fleet.password;
    options.database = config.fleet.database;
    options.key_prefix = config.fleet.key_prefix;
    for (const auto& s : config.fleet.sentinels) {
        auto ep = parse_endpoint(s);
        if (!ep)
            throw ConfigError(
                fmt::format("{}: key 'redis-sentinel': bad value '{}'", config.path, s));
        options.sentinels.push_back(*ep);
    }
    options.sentinel_master = config.fleet.sentinel_master;
    if (auto problems = validate(options); !problems.empty())
        throw ConfigError(fmt::format("{}: {}", config.path, problems.front()));
    return options;
}

Context load_context(const Args& args) {
    const std::string path = args.value("--config").value_or(config_path_from_environment());
    Config config = load_config(path);
    if (!config.fleet.redis)
        throw ConfigError(fmt::format(
            "{}: fluxctl reads the fleet's Redis: the file needs 'store: redis'", path));
    RedisOptions redis = redis_options_from(config);
    KeyLayout keys(redis.key_prefix);
    ToolKeys tool(redis.key_prefix);
    return Context{std::move(config), std::move(redis), std::move(keys), std::move(tool)};
}

RedisClient connect(const Context& context) { return RedisClient::connect(context.redis); }

std::string operator_name(const Args& args) {
    if (auto who = args.value("--who"); who && !who->empty()) return *who;
    if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
    if (const char* login = getlogin(); login && *login) return login;
    if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
    return "operator";
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso_time(std::int64_t t) {
    if (t <= 0) return "-";
    const auto tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_number(double value) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return ec == std::errc() ? std::string(buf, end) : "0";
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f)
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

std::string json_text(const nlohmann::json& value, int indent) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ordered_json_text(const nlohmann::ordered_json& value, int indent) {
    return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string packed(const IpAddress& address) {
    const auto b = address.bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::optional<IpAddress> unpack_address(std::string_view bytes) {
    if (bytes.size() != 4 && bytes.size() != 16) return std::nullopt;
    return IpAddress::from_rdata(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string unpack_prefix(std::string_view bytes) {
    if (bytes.size() == 3) {
        std::string padded(bytes);
        padded.push_back('\0');
        return unpack_address(padded)->to_string() + "/24";
    }
    if (bytes.size() == 6) {
        std::string padded(bytes);
        padded.resize(16, '\0');
        return unpack_address(padded)->to_string() + "/48";
    }
    std::string hex;
    for (unsigned char c : bytes) hex += fmt::format("{:02x}", c);
    return "malformed:" + hex;
}

Table::Table(std::vector<std::string> headers, std::vector<bool> right_aligned)
    : headers_(std::move(headers)), right_(std::move(right_aligned)) {
    right_.resize(headers_.size(), false);
}

void Table::add(std::vector<std::string> row) {
    row.resize(headers_.size());
    for (auto& cell : row) cell = printable(cell);
    rows_.push_back(std::move(row));
}

std::string Table::render() const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
    for (const auto& row : rows_)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const bool last = c + 1 == cells.size();
            if (right_[c])
                out += fmt::format("{:>{}}", cells[c], width[c]);
            else if (last)
                out += cells[c];
            else
                out += fmt::format("{:<{}}", cells[c], width[c]);
            if (!last) out += "  ";
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    };
    std::string out = line(headers_);
    for (const auto& row : rows_) out += line(row);
    return out;
}

void audit(RedisClient& redis, const ToolKeys& keys,
           const std::vector<std::pair<std::string, std::string>>& fields) {
    // The newest 100000 actions are kept: enough for any review, bounded.
    Argv xadd = {"XADD",   keys.audit, "MAXLEN", "~",
                 "100000", "*",        "time",   std::to_string(now_seconds())};
    for (const auto& [name, value] : fields) {
        xadd.push_back(name);
        xadd.push_back(value);
    }
    redis.command(xadd);  // an ACL that forbids XADD must not stop the action itself
}

std::optional<std::string> covering_entry(std::string_view name,
                                          const std::vector<std::string>& members) {
    const std::set<std::string_view> set(members.begin(), members.end());
    for (std::string_view n = name; !n.empty(); n = parent_name(n))
        if (set.contains(n)) return std::string(n);
    return std::nullopt;
}

}  // namespace fluxguard::cli
