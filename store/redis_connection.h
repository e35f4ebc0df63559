// One synchronous hiredis connection, with the habits hiredis asks for: the
// context is owned by a unique_ptr and thrown away after any I/O error (a
// hiredis context is unusable once c->err is set; the store reconnects rather
// than reuse it), replies are owned by unique_ptrs, every argument goes
// through redisAppendCommandArgv (binary-safe, no format strings), connecting
// and commands have separate timeouts.
//
// NOT thread-safe: the store's I/O thread owns its connections.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet_script.h"  // RedisArgv
#include "redis_options.h"

struct redisContext;
struct redisReply;

namespace fluxguard {

struct RedisContextDeleter {
    void operator()(redisContext* c) const noexcept;
};
struct RedisReplyDeleter {
    void operator()(redisReply* r) const noexcept;
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// What went wrong, which decides what the store does next.
enum class RedisFailure {
    none,
    unreachable,  // could not connect (refused, no route, connect timeout, DNS)
    io,           // the connection broke or a command timed out: reconnect
    auth,         // credentials rejected: retry with backoff, it may be fixed
    failover,     // READONLY / MASTERDOWN / LOADING: not a usable master (now)
    refused,      // any other error reply: the connection stays usable
    protocol,     // a reply of an unexpected shape
};

struct RedisError {
    RedisFailure kind = RedisFailure::none;
    std::string message;  // never contains the password
};

// Sorts an error reply ("-READONLY You can't write ...") into a kind.
RedisFailure classify_error_reply(std::string_view text);

struct RedisConnectParams {
    RedisEndpoint endpoint;
    std::string username;
    std::string password;
    int database = 0;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{500};
    // Given with CLIENT SETNAME after connecting, when not empty. Best effort:
    // an ACL or a proxy may refuse it, and a nameless connection works too.
    std::string client_name;
};

class RedisConnection {
  public:
    // Connects, authenticates (AUTH [user] password when a password is set),
    // selects the database and names the connection. nullopt and `error` set
    // on any failure but a refused name.
    static std::optional<RedisConnection> open(const RedisConnectParams& params, RedisError& error);

    RedisConnection(RedisConnection&&) noexcept = default;
    RedisConnection& operator=(RedisConnection&&) noexcept = default;
    ~RedisConnection() = default;

    // Writes every command, then reads one reply per command: one network
    // round trip for the lot. False on an I/O error or timeout: the
    // connection is then dead and `replies` holds the replies read before it.
    bool pipeline(std::span<const RedisArgv> commands, std::vector<RedisReplyPtr>& replies);
    // One command; null when the connection died (see error()).
    RedisReplyPtr command(const RedisArgv& argv);

    // For a subscriber connection driven by poll(): write without waiting for
    // the reply, and collect whatever replies have arrived once fd() is
    // readable. Both return false when the connection died.
    bool send(const RedisArgv& argv);
    bool read_available(std::vector<RedisReplyPtr>& out);
    // Replies already in hiredis' buffer (read along with an earlier reply);
    // never touches the socket.
    bool read_buffered(std::vector<RedisReplyPtr>& out);

    int fd() const;
    bool dead() const { return dead_; }
    const RedisError& error() const { return error_; }
    const RedisEndpoint& endpoint() const { return endpoint_; }

  private:
    RedisConnection(RedisContextPtr context, RedisEndpoint endpoint,
                    std::chrono::milliseconds command_timeout);
    void fail_from_context();

    RedisContextPtr context_;
    RedisEndpoint endpoint_;
    std::chrono::milliseconds command_timeout_;
    bool dead_ = false;
    RedisError error_;
};

struct SentinelQuery {
    std::vector<RedisEndpoint> sentinels;
    std::string master_name;
    std::string username;
    std::string password;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{500};
};

// Asks the sentinels in turn (SENTINEL get-master-addr-by-name) where the
// master is; the first that knows wins. nullopt and `error` when none does.
std::optional<RedisEndpoint> ask_sentinels(const SentinelQuery& query, RedisError& error);

}  // namespace fluxguard
