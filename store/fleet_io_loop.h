// What the store's I/O thread does: connect (through the sentinels when
// configured), load the script, subscribe, merge queued updates in pipelined
// batches, publish blocks and unblocks, mirror the blocked set, keep this
// instance in the fleet's registry with a heartbeat, and survive every Redis
// failure by dropping the connection and reconnecting with backoff.
//
// One thread, two connections, one poll() loop:
//  - the command connection is synchronous: each batch is one pipeline
//    (write all, read all), bounded by the command timeout;
//  - the subscriber connection is read only when poll() says it is readable,
//    between batches, so pub/sub events are handled within one batch's time.
// Keeping both on one thread means callbacks come from a single thread and
// the mirror of blocked domains needs no lock.
//
// NOT thread-safe: constructed by RedisFleetStore and run by its thread; talks
// to the outside only through SubmitQueue, StoreCounters and the callbacks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backoff.h"
#include "fleet_instance.h"
#include "fleet_script.h"
#include "fleet_store.h"
#include "key_layout.h"
#include "redis_connection.h"
#include "redis_options.h"
#include "store_log.h"
#include "submit_queue.h"

namespace fluxguard {

// Written by the I/O thread (and submit() for submitted/dropped), read by
// stats() from any thread.
struct StoreCounters {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> round_trips{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<bool> connected{false};

    FleetStats snapshot() const;  // for stats() and the heartbeat
};

class FleetIoLoop {
  public:
    FleetIoLoop(RedisOptions options, FleetStore::Callbacks callbacks, StoreLogSink log,
                SubmitQueue& queue, StoreCounters& counters);

    // Runs until `stop` is set (and the queue's wake fd is poked).
    void run(const std::atomic<bool>& stop);

  private:
    using Clock = std::chrono::steady_clock;
    enum class LinkState { starting, connected, lost, unreachable, auth_failed, no_master };

    void turn();
    void connect();
    bool load_script();
    void connect_subscriber();
    void lose_connection(std::string reason);  // by value: often refers into *cmd_
    void drop_subscriber(std::string reason);  // by value: often refers into *sub_

    void send_updates();
    void merge_batch(const std::vector<FleetUpdate>& batch);
    void send_events();
    void resync();
    void read_allow_list();
    void heartbeat();
    void leave();
    void check_subscriber();
    bool master_moved();
    SentinelQuery sentinel_query() const;

    void poll_subscriber_now();
    void read_subscriber();
    void handle_pubsub(const redisReply& reply);
    void apply(FleetEvent&& event);

    void wait(const std::atomic<bool>& stop);
    void report(LinkState state, const std::string& detail);
    void command_error(std::string_view what, std::string_view text);
    void reply_error(std::string_view what, const redisReply& reply);
    void report_drops();
    RedisConnectParams params(const RedisEndpoint& endpoint) const;
    // Runs a callback; an exception thrown by the embedder's code is logged,
    // never allowed to end the I/O thread.
    template <typename F>
    void guarded(std::string_view which, F&& f);

    const RedisOptions options_;
    const KeyLayout layout_;
    const fleet_script::MergeLimits limits_;
    const FleetInstance instance_;
    FleetStore::Callbacks callbacks_;
    RateLimitedLog log_;
    SubmitQueue& queue_;
    StoreCounters& counters_;

    std::optional<RedisConnection> cmd_;
    std::optional<RedisConnection> sub_;
    std::string sha_;
    Backoff cmd_backoff_;
    Backoff sub_backoff_;
    Clock::time_point cmd_retry_at_{};
    Clock::time_point sub_retry_at_{};
    Clock::time_point resync_at_{};
    Clock::time_point events_retry_at_{};
    Clock::time_point heartbeat_at_{};
    bool sub_ping_outstanding_ = false;
    LinkState state_ = LinkState::starting;
    std::optional<RedisEndpoint> last_master_;

    std::deque<FleetEvent> pending_events_;  // blocks/unblocks not yet in Redis, in order
    std::unordered_map<std::string, std::int64_t> mirror_;  // blocked domain -> since
    std::vector<FleetUpdate> batch_;
    std::uint64_t reported_drops_ = 0;
};

}  // namespace fluxguard
