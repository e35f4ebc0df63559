// fluxctl's own synchronous Redis connection: the tool reads the fleet's keys
// directly (status, blocked, show, hosts, export, watch) and writes the few
// keys that are the operator's (allow list, expiries, audit stream). Blocks and
// unblocks themselves go through the store (fleet_publisher.h), so every
// resolver hears of them the same way.
//
// The hiredis work (timeouts, AUTH, SELECT, binary-safe pipelines, asking the
// sentinels) is the store's RedisConnection (redis_connection.h). This layer
// adds what a command-line tool wants on top: longer minimum timeouts,
// exceptions instead of error codes, and replies copied into plain values, so
// nothing outlives the hiredis objects. A connection is dead after an I/O
// error: every later call throws.
//
// NOT thread-safe: one thread per client.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "redis_connection.h"
#include "redis_options.h"

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

using Argv = RedisArgv;

class RedisClient {
  public:
    // Finds the master (through the sentinels when configured), connects,
    // authenticates, selects the database and names the connection
    // `client_name` (CLIENT SETNAME, best effort). Throws RedisClientError.
    static RedisClient connect(const RedisOptions& options,
                               std::string_view client_name = "fluxctl");

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
    int fd() const { return connection_.fd(); }

    const RedisEndpoint& endpoint() const { return connection_.endpoint(); }

  private:
    explicit RedisClient(RedisConnection connection);
    void check_alive() const;
    [[noreturn]] void fail(std::string_view what) const;

    RedisConnection connection_;
};

// "127.0.0.1:6379 db 0" for messages; never the password.
std::string describe_target(const RedisOptions& options);

// Escapes Redis glob characters (* ? [ ] \) so `text` matches only itself in
// SCAN MATCH.
std::string glob_escape(std::string_view text);

}  // namespace fluxguard::cli
