#include "redis_client.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace fluxguard::cli {

namespace {

// A command-line tool may wait longer than a resolver's store: a SCAN of a
// big keyspace or a long pipeline is expected to take a while.
constexpr std::chrono::milliseconds kMinConnectTimeout{2000};
constexpr std::chrono::milliseconds kMinCommandTimeout{10000};

timeval to_timeval(std::chrono::milliseconds d) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(d.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
    return tv;
}

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

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string scrub(std::string text, const std::string& secret) {
    if (secret.empty()) return text;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
        text.replace(pos, secret.size(), "***");
    return text;
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

void RedisClient::ContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

RedisClient::RedisClient(ContextPtr context, RedisEndpoint endpoint)
    : context_(std::move(context)), endpoint_(std::move(endpoint)) {}
RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;
RedisClient::~RedisClient() = default;

namespace {

// Connects to one endpoint; throws with `what` naming the server.
std::unique_ptr<redisContext, void (*)(redisContext*)> open_context(
    const RedisEndpoint& ep, std::chrono::milliseconds connect, std::chrono::milliseconds timeout) {
    const auto tv = to_timeval(connect);
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(
        ep.is_unix() ? redisConnectUnixWithTimeout(ep.unix_path.c_str(), tv)
                     : redisConnectWithTimeout(ep.host.c_str(), ep.port, tv),
        redisFree);
    if (!c)
        throw RedisClientError(
            fmt::format("cannot connect to Redis at {}: out of memory", ep.to_string()));
    if (c->err)
        throw RedisClientError(
            fmt::format("cannot connect to Redis at {}: {}", ep.to_string(), c->errstr));
    if (redisSetTimeout(c.get(), to_timeval(timeout)) != REDIS_OK)
        throw RedisClientError(
            fmt::format("Redis at {}: cannot set the command timeout", ep.to_string()));
    return c;
}

Reply simple_command(redisContext* c, const Argv& argv, const RedisEndpoint& ep) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    ReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
    if (!r)
        throw RedisClientError(fmt::format("Redis at {}: {}", ep.to_string(),
                                           c->errstr[0] ? c->errstr : "connection lost"));
    return convert(*r);
}

}  // namespace

RedisClient RedisClient::connect(const RedisOptions& options, std::string_view client_name) {
    const auto connect_timeout = std::max(options.connect_timeout, kMinConnectTimeout);
    const auto command_timeout = std::max(options.command_timeout, kMinCommandTimeout);
    RedisEndpoint master = options.address;
    if (!options.sentinels.empty()) {
        std::string problems;
        bool found = false;
        for (const auto& s : options.sentinels) {
            try {
                auto c = open_context(s, connect_timeout, command_timeout);
                if (!options.sentinel_password.empty()) {
                    Argv auth =
                        options.sentinel_username.empty()
                            ? Argv{"AUTH", options.sentinel_password}
                            : Argv{"AUTH", options.sentinel_username, options.sentinel_password};
                    auto r = simple_command(c.get(), auth, s);
                    if (r.is_error())
                        throw RedisClientError(scrub(r.str, options.sentinel_password));
                }
                auto r = simple_command(
                    c.get(), {"SENTINEL", "get-master-addr-by-name", options.sentinel_master}, s);
                if (r.is_array() && r.elements.size() == 2) {
                    auto ep = parse_endpoint(r.elements[0].str);
                    int port = static_cast<int>(r.elements[1].as_int(0));
                    if (ep && port > 0 && port <= 65535) {
                        ep->port = static_cast<std::uint16_t>(port);
                        master = *ep;
                        found = true;
                        break;
                    }
                }
                problems += fmt::format(" {}: does not know master '{}';", s.to_string(),
                                        options.sentinel_master);
            } catch (const RedisClientError& e) {
                problems += fmt::format(" {};", e.what());
            }
        }
        if (!found) throw RedisClientError("no sentinel could name the Redis master:" + problems);
    }

    auto c = open_context(master, connect_timeout, command_timeout);
    ContextPtr context(c.release());
    RedisClient client(std::move(context), master);
    if (!options.password.empty()) {
        Argv auth = options.username.empty() ? Argv{"AUTH", options.password}
                                             : Argv{"AUTH", options.username, options.password};
        auto r = client.command(auth);
        if (r.is_error())
            throw RedisClientError(fmt::format("Redis at {} refused the credentials: {}",
                                               master.to_string(), scrub(r.str, options.password)));
    }
    if (options.database != 0) {
        auto r = client.command({"SELECT", std::to_string(options.database)});
        if (r.is_error())
            throw RedisClientError(fmt::format("Redis at {}: SELECT {}: {}", master.to_string(),
                                               options.database, r.str));
    }
    if (!client_name.empty())
        client.command({"CLIENT", "SETNAME", std::string(client_name)});  // ACLs may refuse: fine
    return client;
}

void RedisClient::fail(std::string_view what) {
    std::string text = context_ && context_->errstr[0] ? context_->errstr : "connection lost";
    if (context_ && context_->err == REDIS_ERR_IO &&
        (text == std::strerror(EAGAIN) || text == std::strerror(EWOULDBLOCK)))
        text = "no reply in time";
    context_.reset();
    throw RedisClientError(fmt::format("Redis at {}: {}: {}", endpoint_.to_string(), what, text));
}

void RedisClient::append(const Argv& argv) {
    if (!context_) throw RedisClientError("Redis connection already lost");
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), ptrs.data(),
                               lens.data()) != REDIS_OK)
        fail("cannot queue a command");
}

Reply RedisClient::read_one() {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) fail("reading a reply");
    ReplyPtr r(static_cast<redisReply*>(raw));
    return convert(*r);
}

Reply RedisClient::command(const Argv& argv) {
    append(argv);
    return read_one();
}

std::vector<Reply> RedisClient::pipeline(const std::vector<Argv>& commands) {
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    // Bounded batches keep hiredis' buffers (and Redis' output buffer) small.
    constexpr std::size_t kBatch = 1000;
    for (std::size_t start = 0; start < commands.size(); start += kBatch) {
        const auto stop = std::min(commands.size(), start + kBatch);
        for (std::size_t i = start; i < stop; ++i) append(commands[i]);
        for (std::size_t i = start; i < stop; ++i) replies.push_back(read_one());
    }
    return replies;
}

void RedisClient::send(const Argv& argv) {
    append(argv);
    int done = 0;
    while (!done)
        if (redisBufferWrite(context_.get(), &done) != REDIS_OK) fail("writing a command");
}

std::vector<Reply> RedisClient::read_available() {
    if (!context_) throw RedisClientError("Redis connection already lost");
    if (redisBufferRead(context_.get()) != REDIS_OK) fail("reading");
    return read_buffered();
}

std::vector<Reply> RedisClient::read_buffered() {
    if (!context_) throw RedisClientError("Redis connection already lost");
    std::vector<Reply> out;
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) fail("reading a reply");
        if (!raw) break;
        ReplyPtr r(static_cast<redisReply*>(raw));
        out.push_back(convert(*r));
    }
    return out;
}

int RedisClient::fd() const { return context_ ? context_->fd : -1; }

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
