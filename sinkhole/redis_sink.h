// Records to Redis (README.md, "Redis layout"): each record is appended to
// the hits stream (XADD ... MAXLEN ~ redis-stream-length) and folded into the
// client's per-host aggregate and the hosts index by the 'client' operation
// of the store's script (store/fleet.lua), the one the resolvers use too.
//
// A background thread owns the one hiredis connection, with the habits
// hiredis asks for: a context is thrown away after any I/O error and a new
// one is made (with exponential backoff and jitter), replies are owned by
// unique_ptrs, every argument goes binary-safe through
// redisAppendCommandArgv, connecting and commands have separate timeouts,
// and a batch of records is one pipelined round trip. While Redis is down,
// records wait in the bounded queue (then are dropped and counted); the
// records file has them all regardless. A batch that was cut off by a broken
// connection is sent again after reconnecting, so a record can reach the
// stream twice but is not lost.
//
// submit() is called from the network thread only; see record_sink.h.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bounded_queue.h"
#include "key_layout.h"
#include "log.h"
#include "record_sink.h"
#include "sinkhole_config.h"

struct redisContext;

namespace fluxguard::sinkhole {

// Every key name, from the configured prefix: the hits stream is the
// sinkhole's own; the per-host keys and the hosts index are shared with the
// resolvers, so their names come from the store's layout.
class RedisKeys {
  public:
    explicit RedisKeys(const std::string& prefix);

    const KeyLayout& shared() const { return shared_; }
    const std::string& stream() const { return stream_; }         // STREAM of records
    const std::string& hosts() const { return shared_.hosts(); }  // ZSET client ip -> last seen

  private:
    KeyLayout shared_;
    std::string stream_;
};

struct RedisContextDeleter {
    void operator()(redisContext* c) const noexcept;
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

class RedisSink final : public RecordSink {
  public:
    RedisSink(RedisSinkConfig config, PayloadEncoding encoding, std::size_t queue_size, Log& log);
    ~RedisSink() override;
    RedisSink(const RedisSink&) = delete;
    RedisSink& operator=(const RedisSink&) = delete;

    std::string_view name() const override { return "redis"; }
    void start() override;
    bool submit(RecordPtr record) override;
    void stop(std::chrono::steady_clock::time_point deadline) override;
    SinkStats stats() const override { return stats_.load(); }

  private:
    void run();
    bool connect();
    // True when the batch is done with (written, or refused by Redis for
    // good); false when the connection broke and the batch should be retried.
    bool write_batch(const std::vector<RecordPtr>& batch);
    void sleep_for(std::chrono::milliseconds delay);
    std::string where() const;

    const RedisSinkConfig config_;
    const PayloadEncoding encoding_;
    const RedisKeys keys_;
    Log& log_;
    BoundedQueue<RecordPtr> queue_;
    AtomicSinkStats stats_;

    // Thread side.
    RedisContextPtr context_;
    std::string script_sha_;

    // stop() -> thread.
    std::mutex stop_mutex_;
    std::condition_variable stop_signal_;
    bool stopping_ = false;                           // under stop_mutex_
    std::chrono::steady_clock::time_point deadline_;  // under stop_mutex_
    std::thread thread_;
};

}  // namespace fluxguard::sinkhole
