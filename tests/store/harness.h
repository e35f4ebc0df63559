// Test helpers for the store: real redis-server / redis-sentinel processes on
// free loopback ports in temporary directories (no persistence), killed on
// destruction; a capture log; a recorder for the store's callbacks; a probe
// that hammers submit() and measures how long it ever takes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fleet_store.h"
#include "redis_connection.h"
#include "redis_fleet_store.h"
#include "redis_options.h"

namespace fgstore {

using namespace std::chrono_literals;

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A TCP port on 127.0.0.1 nobody listens on right now.
std::uint16_t free_port();

struct ServerOptions {
    std::vector<std::string> args;  // extra redis-server arguments
    bool unix_socket = false;       // also listen on <dir>/redis.sock
    std::uint16_t port = 0;         // 0: a free one
    // Credentials of the harness' own admin connection.
    std::string admin_user;
    std::string admin_password;

    // Common set-ups, named (designated initialisers trip -Wextra).
    static ServerOptions with_password(const std::string& password);
    static ServerOptions with_unix_socket();
    static ServerOptions replica_of(std::uint16_t master_port);
    static ServerOptions on_port(std::uint16_t port);
};

class RedisServer {
  public:
    explicit RedisServer(ServerOptions options = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string socket_path() const { return dir_.path() + "/redis.sock"; }
    fluxguard::RedisEndpoint endpoint() const { return {"127.0.0.1", port_, {}}; }

    void start();  // (again) on the same port, with an empty data set
    void kill();   // SIGKILL: no goodbye to clients
    bool running() const { return pid_ > 0; }

    // Runs a command on the harness' admin connection (reopened as needed).
    // Throws std::runtime_error when Redis cannot be reached.
    fluxguard::RedisReplyPtr command(const std::vector<std::string>& argv);
    // Sends a command from another thread without waiting (DEBUG SLEEP).
    void command_detached(std::vector<std::string> argv);
    void set_admin_password(std::string password) {
        options_.admin_password = std::move(password);
        admin_.reset();
    }

    // Every key matching `pattern` (SCAN).
    std::vector<std::string> keys(const std::string& pattern = "*");

  protected:
    RedisServer(ServerOptions options, bool sentinel, std::string config_text);

  private:
    void spawn();
    void wait_ready();

    ServerOptions options_;
    TempDir dir_;
    std::uint16_t port_;
    bool sentinel_ = false;
    std::string config_text_;
    pid_t pid_ = -1;
    std::optional<fluxguard::RedisConnection> admin_;
    std::vector<std::thread> detached_;
};

// One sentinel watching `master_name` at `master`, quorum 1, fast timings.
class RedisSentinel : public RedisServer {
  public:
    RedisSentinel(const std::string& master_name, std::uint16_t master_port);
};

// Thread-safe capture of the store's log.
class CaptureLog {
  public:
    fluxguard::StoreLogSink sink();
    std::vector<std::string> lines() const;
    bool contains(std::string_view needle) const;
    std::size_t count(std::string_view needle) const;

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

// Thread-safe record of what a store's callbacks delivered.
class Recorder {
  public:
    fluxguard::FleetStore::Callbacks callbacks();
    std::optional<fluxguard::FleetView> view(const std::string& domain) const;
    std::size_t views() const;
    std::optional<fluxguard::FleetBlock> block(const std::string& domain) const;
    std::size_t blocks_of(const std::string& domain) const;
    std::size_t unblocks_of(const std::string& domain) const;
    // Blocked per the callbacks: an on_block not followed by on_unblock.
    bool blocked(const std::string& domain) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, fluxguard::FleetView> views_;
    std::size_t view_count_ = 0;
    std::map<std::string, fluxguard::FleetBlock> last_block_;
    std::map<std::string, std::size_t> blocks_;
    std::map<std::string, std::size_t> unblocks_;
    std::map<std::string, bool> blocked_;
};

// Store options with test-sized timeouts and intervals.
fluxguard::RedisOptions fast_options(const fluxguard::RedisEndpoint& endpoint);

// Unix time in seconds, as the store writes it.
std::int64_t now_s();

// Polls `pred` every 5 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

fluxguard::IpAddress ip(std::string_view text);
// A resolution of `domain` that saw `addresses` (text), each with ASN
// 64600 + (third octet) and a country per ASN, and name servers.
fluxguard::FleetUpdate update(const std::string& domain, const std::vector<std::string>& addresses,
                              std::vector<std::string> name_servers = {},
                              std::uint32_t min_ttl = 300);
// Addresses 198.18.<net>.<host> for host in [first, first + count).
std::vector<std::string> flux_addresses(int net, int first, int count);

// Calls submit() from its own thread, every `period`, and keeps the longest
// time one call took. The bound under test is that a call never waits on
// Redis, whatever state Redis is in. On a loaded machine (ctest -j, other
// builds) the kernel may also preempt the probe thread inside the timed call:
// that is not submit() waiting. So each call also records the thread's
// context switches (getrusage RUSAGE_THREAD): a call with an involuntary
// switch and no voluntary one was preempted while running and is left out of
// max_latency() (but kept in raw_max_latency()); a call that blocked
// (voluntary switch: a futex, a syscall) always counts.
class SubmitProbe {
  public:
    SubmitProbe(fluxguard::FleetStore& store, std::string domain,
                std::chrono::microseconds period = 200us);
    ~SubmitProbe();
    void stop();
    std::chrono::microseconds max_latency() const {
        return std::chrono::microseconds(max_us_.load());
    }
    std::chrono::microseconds raw_max_latency() const {
        return std::chrono::microseconds(raw_max_us_.load());
    }
    std::uint64_t calls() const { return calls_.load(); }
    std::uint64_t accepted() const { return accepted_.load(); }
    std::uint64_t preempted() const { return preempted_.load(); }

  private:
    fluxguard::FleetStore& store_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> max_us_{0};
    std::atomic<std::int64_t> raw_max_us_{0};
    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> preempted_{0};
    std::thread thread_;
};

}  // namespace fgstore
