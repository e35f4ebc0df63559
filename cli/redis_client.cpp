#include "redis_client.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <span>

namespace fluxguard::cli {

namespace {

// A command-line tool may wait longer than a resolver's store: a SCAN of a
// big keyspace or a long pipeline is expected to take a while.
constexpr std::chrono::milliseconds kMinConnectTimeout{2000};
constexpr std::chrono::milliseconds kMinCommandTimeout{10000};

Reply convert(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::string;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::status;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::error;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i)
                out.elements.push_back(convert(*r.element[i]));
            break;
        default:
            out.type = Reply::Type::nil;
    }
    return out;
}

std::vector<Reply> convert_all(const std::vector<RedisReplyPtr>& replies) {
    std::vector<Reply> out;
    out.reserve(replies.size());
    for (const auto& r : replies) out.push_back(convert(*r));
    return out;
}

// Why connecting failed, worded by what went wrong; never the password
// (RedisConnection scrubs it from Redis' replies).
std::string connect_error(const RedisEndpoint& where, const RedisError& error) {
    switch (error.kind) {
        case RedisFailure::unreachable:
            return fmt::format("cannot connect to Redis at {}: {}", where.to_string(),
                               error.message);
        case RedisFailure::auth:
            return fmt::format("Redis at {} refused the credentials: {}", where.to_string(),
                               error.message);
        default:
            return fmt::format("Redis at {}: {}", where.to_string(), error.message);
    }
}

}  // namespace

long long Reply::as_int(long long fallback) const {
    if (type == Type::integer) return integer;
    if (type != Type::string && type != Type::status) return fallback;
    long long v = 0;
    auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
    if (ec == std::errc() && p == str.data() + str.size()) return v;
    // Scores come back as strings such as "1732600000" or "1.7326e+09".
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(str.c_str(), &end);
    if (!str.empty() && end == str.c_str() + str.size() && errno == 0)
        return static_cast<long long>(d);
    return fallback;
}

RedisClient::RedisClient(RedisConnection connection) : connection_(std::move(connection)) {}

RedisClient RedisClient::connect(const RedisOptions& options, std::string_view client_name) {
    const auto connect_timeout = std::max(options.connect_timeout, kMinConnectTimeout);
    const auto command_timeout = std::max(options.command_timeout, kMinCommandTimeout);
    RedisError error;
    RedisEndpoint master = options.address;
    if (!options.sentinels.empty()) {
        auto found =
            ask_sentinels({options.sentinels, options.sentinel_master, options.sentinel_username,
                           options.sentinel_password, connect_timeout, command_timeout},
                          error);
        if (!found)
            throw RedisClientError("no sentinel could name the Redis master: " + error.message);
        master = *found;
    }
    auto connection =
        RedisConnection::open({master, options.username, options.password, options.database,
                               connect_timeout, command_timeout, std::string(client_name)},
                              error);
    if (!connection) throw RedisClientError(connect_error(master, error));
    return RedisClient(std::move(*connection));
}

void RedisClient::check_alive() const {
    if (connection_.dead()) throw RedisClientError("Redis connection already lost");
}

void RedisClient::fail(std::string_view what) const {
    throw RedisClientError(fmt::format("Redis at {}: {}: {}", connection_.endpoint().to_string(),
                                       what, connection_.error().message));
}

Reply RedisClient::command(const Argv& argv) {
    check_alive();
    auto reply = connection_.command(argv);
    if (!reply) fail("reading a reply");
    return convert(*reply);
}

std::vector<Reply> RedisClient::pipeline(const std::vector<Argv>& commands) {
    check_alive();
    std::vector<Reply> out;
    out.reserve(commands.size());
    // Bounded batches keep hiredis' buffers (and Redis' output buffer) small.
    constexpr std::size_t kBatch = 1000;
    std::vector<RedisReplyPtr> replies;
    for (std::size_t start = 0; start < commands.size(); start += kBatch) {
        const auto count = std::min(kBatch, commands.size() - start);
        if (!connection_.pipeline(std::span(commands).subspan(start, count), replies))
            fail("reading a reply");
        for (const auto& r : replies) out.push_back(convert(*r));
    }
    return out;
}

void RedisClient::send(const Argv& argv) {
    check_alive();
    if (!connection_.send(argv)) fail("writing a command");
}

std::vector<Reply> RedisClient::read_available() {
    check_alive();
    std::vector<RedisReplyPtr> replies;
    if (!connection_.read_available(replies)) fail("reading");
    return convert_all(replies);
}

std::vector<Reply> RedisClient::read_buffered() {
    check_alive();
    std::vector<RedisReplyPtr> replies;
    if (!connection_.read_buffered(replies)) fail("reading a reply");
    return convert_all(replies);
}

std::string describe_target(const RedisOptions& o) {
    std::string where = o.sentinels.empty()
                            ? o.address.to_string()
                            : fmt::format("master '{}' via sentinels", o.sentinel_master);
    return fmt::format("{} db {}", where, o.database);
}

std::string glob_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

}  // namespace fluxguard::cli
