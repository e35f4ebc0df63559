// FleetStore over Redis with hiredis: the fleet's shared view of domains and
// its blocklist, for resolvers that must never wait on the network.
//
// submit() and publish_*() only move their argument into a bounded queue and
// return; one background I/O thread owns both Redis connections (commands,
// and the pub/sub subscription), merges updates with a Lua script in
// pipelined batches, and mirrors the blocked set. Redis being absent, slow,
// paused, full or restarted costs dropped or failed updates (counted in
// stats()), never a blocked caller. See store/README.md for the key layout.
//
// Thread-safety: submit(), publish_block(), publish_unblock() and stats() may
// be called from any number of threads at once. Callbacks run on the store's
// I/O thread, one at a time; they must not destroy the store, and should be
// quick (they delay the next Redis round trip).
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "fleet_store.h"
#include "redis_options.h"
#include "store_log.h"

namespace fluxguard {

class FleetIoLoop;
class SubmitQueue;
struct StoreCounters;

class RedisFleetStore final : public FleetStore {
  public:
    // Throws std::invalid_argument listing what validate() finds wrong. Does
    // not connect: the I/O thread does, and keeps trying (with backoff) while
    // Redis is unreachable.
    RedisFleetStore(RedisOptions options, Callbacks callbacks, StoreLogSink log);
    // Stops the I/O thread; waits for the Redis call in progress, which is
    // bounded by the connect and command timeouts, and for one more that takes
    // this instance out of the registry (bounded by the command timeout).
    ~RedisFleetStore() override;
    RedisFleetStore(const RedisFleetStore&) = delete;
    RedisFleetStore& operator=(const RedisFleetStore&) = delete;

    // False (and counted as dropped) when the queue is full, or when the
    // domain is empty or longer than kMaxDomainBytes (not a domain name).
    bool submit(FleetUpdate update) override;
    void publish_block(FleetBlock block) override;
    void publish_unblock(std::string domain, std::string reason, std::string who) override;
    void record_client(ClientHit hit) override;
    FleetStats stats() const override;

    // Domains in DNS are at most 255 bytes in wire form; the store allows
    // room for escaped presentation forms and refuses anything longer.
    static constexpr std::size_t kMaxDomainBytes = 1024;

  private:
    bool accept(const std::string& domain);

    std::unique_ptr<StoreCounters> counters_;
    std::unique_ptr<SubmitQueue> queue_;
    std::unique_ptr<FleetIoLoop> loop_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace fluxguard
