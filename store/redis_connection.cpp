#include "redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace fluxguard {

void RedisContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }
void RedisReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

namespace {

timeval to_timeval(std::chrono::milliseconds d) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(d.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
    return tv;
}

std::string_view reply_text(const redisReply& r) { return {r.str, r.len}; }

// hiredis reports a socket timeout as the errno text of EAGAIN; say what it is.
std::string context_error_text(const redisContext& c, std::chrono::milliseconds timeout) {
    std::string text = c.errstr;
    if (c.err == REDIS_ERR_IO &&
        (text == std::strerror(EAGAIN) || text == std::strerror(EWOULDBLOCK)))
        return "no reply within " + std::to_string(timeout.count()) + " ms";
    if (text.empty()) text = "connection lost";
    return text;
}

// Error replies never echo a password today; make sure a future one cannot
// leak it into the log either.
std::string scrub(std::string text, const std::string& secret) {
    if (secret.empty()) return text;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
        text.replace(pos, secret.size(), "***");
    return text;
}

// Writes argv into the context's output buffer (no I/O yet).
bool append(redisContext* c, const RedisArgv& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    return redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data()) ==
           REDIS_OK;
}

}  // namespace

RedisFailure classify_error_reply(std::string_view text) {
    auto starts = [&](std::string_view p) { return text.substr(0, p.size()) == p; };
    if (starts("READONLY") || starts("MASTERDOWN") || starts("LOADING"))
        return RedisFailure::failover;
    if (starts("WRONGPASS") || starts("NOAUTH") || starts("ERR invalid password") ||
        starts("ERR AUTH"))
        return RedisFailure::auth;
    // Scripts report errors of the commands they call as "ERR Error running
    // script ... READONLY ..." on older servers; look inside too.
    if (text.find("READONLY") != std::string_view::npos ||
        text.find("You can't write against a read only replica") != std::string_view::npos)
        return RedisFailure::failover;
    return RedisFailure::refused;
}

RedisConnection::RedisConnection(RedisContextPtr context, RedisEndpoint endpoint,
                                 std::chrono::milliseconds command_timeout)
    : context_(std::move(context)),
      endpoint_(std::move(endpoint)),
      command_timeout_(command_timeout) {}

std::optional<RedisConnection> RedisConnection::open(const RedisConnectParams& p,
                                                     RedisError& error) {
    const timeval connect_tv = to_timeval(p.connect_timeout);
    RedisContextPtr ctx(
        p.endpoint.is_unix()
            ? redisConnectUnixWithTimeout(p.endpoint.unix_path.c_str(), connect_tv)
            : redisConnectWithTimeout(p.endpoint.host.c_str(), p.endpoint.port, connect_tv));
    if (!ctx) {
        error = {RedisFailure::unreachable, "out of memory creating a connection"};
        return std::nullopt;
    }
    if (ctx->err) {
        error = {RedisFailure::unreachable, context_error_text(*ctx, p.connect_timeout)};
        return std::nullopt;
    }
    // From here on every read and write is bounded by the command timeout.
    if (redisSetTimeout(ctx.get(), to_timeval(p.command_timeout)) != REDIS_OK ||
        (!p.endpoint.is_unix() && redisEnableKeepAlive(ctx.get()) != REDIS_OK)) {
        error = {RedisFailure::unreachable, context_error_text(*ctx, p.command_timeout)};
        return std::nullopt;
    }
    RedisConnection conn(std::move(ctx), p.endpoint, p.command_timeout);

    auto run = [&](const RedisArgv& argv, RedisFailure error_kind) -> bool {
        auto reply = conn.command(argv);
        if (!reply) {
            error = conn.error();
            return false;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            const auto text = reply_text(*reply);
            auto kind = classify_error_reply(text);
            if (kind == RedisFailure::refused) kind = error_kind;
            error = {kind, scrub(std::string(text), p.password)};
            return false;
        }
        return true;
    };
    if (!p.password.empty()) {
        RedisArgv auth{"AUTH"};
        if (!p.username.empty()) auth.push_back(p.username);
        auth.push_back(p.password);
        if (!run(auth, RedisFailure::auth)) return std::nullopt;
    }
    if (p.database != 0 && !run({"SELECT", std::to_string(p.database)}, RedisFailure::refused)) {
        error.message = "SELECT " + std::to_string(p.database) + ": " + error.message;
        return std::nullopt;
    }
    if (!p.client_name.empty() && !conn.command({"CLIENT", "SETNAME", p.client_name})) {
        error = conn.error();  // the connection died; an error reply is fine
        return std::nullopt;
    }
    return conn;
}

void RedisConnection::fail_from_context() {
    dead_ = true;
    error_ = {RedisFailure::io, context_ ? context_error_text(*context_, command_timeout_)
                                         : std::string("no connection")};
}

bool RedisConnection::pipeline(std::span<const RedisArgv> commands,
                               std::vector<RedisReplyPtr>& replies) {
    replies.clear();
    if (dead_) return false;
    for (const auto& argv : commands) {
        if (!append(context_.get(), argv)) {
            fail_from_context();
            return false;
        }
    }
    // The first redisGetReply flushes the whole output buffer; then each call
    // reads (blocking up to the command timeout) until one reply is complete.
    for (std::size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
            fail_from_context();
            return false;
        }
        replies.emplace_back(static_cast<redisReply*>(raw));
    }
    return true;
}

RedisReplyPtr RedisConnection::command(const RedisArgv& argv) {
    std::vector<RedisReplyPtr> replies;
    if (!pipeline(std::span<const RedisArgv>(&argv, 1), replies)) return nullptr;
    return std::move(replies.front());
}

bool RedisConnection::send(const RedisArgv& argv) {
    if (dead_) return false;
    if (!append(context_.get(), argv)) {
        fail_from_context();
        return false;
    }
    int done = 0;
    do {
        if (redisBufferWrite(context_.get(), &done) != REDIS_OK) {
            fail_from_context();
            return false;
        }
    } while (!done);
    return true;
}

bool RedisConnection::read_buffered(std::vector<RedisReplyPtr>& out) {
    if (dead_) return false;
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
            fail_from_context();
            return false;
        }
        if (raw == nullptr) return true;
        out.emplace_back(static_cast<redisReply*>(raw));
    }
}

bool RedisConnection::read_available(std::vector<RedisReplyPtr>& out) {
    if (dead_) return false;
    // poll() said readable, so this one read() returns at once: data, or 0
    // when the server closed the connection (hiredis then sets an error).
    if (redisBufferRead(context_.get()) != REDIS_OK) {
        fail_from_context();
        return false;
    }
    return read_buffered(out);
}

int RedisConnection::fd() const { return context_ ? context_->fd : -1; }

std::optional<RedisEndpoint> ask_sentinels(const SentinelQuery& q, RedisError& error) {
    std::string failures;
    for (const auto& sentinel : q.sentinels) {
        RedisError e;
        auto conn = RedisConnection::open(
            {sentinel, q.username, q.password, 0, q.connect_timeout, q.command_timeout, {}}, e);
        std::string why;
        if (conn) {
            auto reply = conn->command({"SENTINEL", "get-master-addr-by-name", q.master_name});
            if (!reply) {
                why = conn->error().message;
            } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                       reply->element[0]->type == REDIS_REPLY_STRING &&
                       reply->element[1]->type == REDIS_REPLY_STRING) {
                auto ep = parse_endpoint(reply_text(*reply->element[0]));
                const auto port_text = std::string(reply_text(*reply->element[1]));
                char* end = nullptr;
                const long port = std::strtol(port_text.c_str(), &end, 10);
                if (ep && !ep->is_unix() && end && *end == '\0' && port > 0 && port < 65536) {
                    ep->port = static_cast<std::uint16_t>(port);
                    return ep;
                }
                why = "unusable master address in the reply";
            } else if (reply->type == REDIS_REPLY_NIL) {
                why = "does not know master '" + q.master_name + "'";
            } else if (reply->type == REDIS_REPLY_ERROR) {
                why = std::string(reply_text(*reply));
            } else {
                why = "unexpected reply";
            }
        } else {
            why = e.message;
        }
        if (!failures.empty()) failures += "; ";
        failures += "sentinel " + sentinel.to_string() + ": " + why;
    }
    error = {RedisFailure::unreachable,
             failures.empty() ? std::string("no sentinels configured") : failures};
    return std::nullopt;
}

}  // namespace fluxguard
