// fluxctl's own synchronous Redis connection: the tool reads the fleet's keys
// directly (status, blocked, show, hosts, export, watch) and writes the few
// keys that are the operator's (allow list, expiries, audit stream). Blocks and
// unblocks themselves go through the store (fleet_publisher.h), so every
// resolver hears of them the same way.
//
// hiredis habits: the context and replies are owned by unique_ptrs, a context
// is never used again after an I/O error (the client throws and is dead),
// every argument is passed binary-safe through redisAppendCommandArgv, and
// connecting and commands have their own timeouts. Replies are copied into
// plain values, so nothing outlives the hiredis objects.
//
// NOT thread-safe: one thread per client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "redis_options.h"

struct redisContext;

namespace fluxguard::cli {

// Redis unreachable, the connection broken, or a reply that makes no sense.
class RedisClientError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Reply {
    enum class Type { nil, string, status, error, integer, array };
    Type type = Type::nil;
    std::string str;              // string, status, error
    long long integer = 0;        // integer
    std::vector<Reply> elements;  // array

    bool is_nil() const { return type == Type::nil; }
    bool is_error() const { return type == Type::error; }
    bool is_string() const { return type == Type::string || type == Type::status; }
    bool is_array() const { return type == Type::array; }
    // The integer of an integer reply, or of a string holding one; else `fallback`.
    long long as_int(long long fallback = 0) const;
    // A string reply's bytes; "" for nil.
    const std::string& text() const { return str; }
};

using Argv = std::vector<std::string>;

class RedisClient {
  public:
    // Finds the master (through the sentinels when configured), connects,
    // authenticates, selects the database and names the connection
    // `client_name` (CLIENT SETNAME, best effort). Throws RedisClientError.
    static RedisClient connect(const RedisOptions& options,
                               std::string_view client_name = "fluxctl");

    RedisClient(RedisClient&&) noexcept;
    RedisClient& operator=(RedisClient&&) noexcept;
    ~RedisClient();

    // One command, one reply (error replies are returned, not thrown).
    // Throws RedisClientError when the connection fails.
    Reply command(const Argv& argv);
    // Every command written, then every reply read: one round trip.
    std::vector<Reply> pipeline(const std::vector<Argv>& commands);

    // For connections driven by poll() (watch): write a command without
    // waiting for its reply; then, once fd() is readable, collect the replies
    // that have arrived (possibly none yet).
    void send(const Argv& argv);
    std::vector<Reply> read_available();
    // Replies already in hiredis' buffer (read along with an earlier one);
    // never touches the socket.
    std::vector<Reply> read_buffered();
    int fd() const;

    const RedisEndpoint& endpoint() const { return endpoint_; }

  private:
    struct ContextDeleter {
        void operator()(redisContext* c) const noexcept;
    };
    using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
    RedisClient(ContextPtr context, RedisEndpoint endpoint);
    [[noreturn]] void fail(std::string_view what);
    void append(const Argv& argv);
    Reply read_one();

    ContextPtr context_;
    RedisEndpoint endpoint_;
};

// "127.0.0.1:6379 db 0" for messages; never the password.
std::string describe_target(const RedisOptions& options);

// Escapes Redis glob characters (* ? [ ] \) so `text` matches only itself in
// SCAN MATCH.
std::string glob_escape(std::string_view text);

}  // namespace fluxguard::cli
