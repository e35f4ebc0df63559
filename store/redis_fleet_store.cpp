#include "redis_fleet_store.h"

#include <pthread.h>
#include <signal.h>

#include <stdexcept>

#include "fleet_io_loop.h"
#include "submit_queue.h"

namespace fluxguard {

namespace {

// Blocks and unblocks waiting to be handed to the I/O thread at most.
constexpr std::size_t kEventLaneCapacity = 4096;

RedisOptions checked(RedisOptions options) {
    const auto problems = validate(options);
    if (!problems.empty()) {
        std::string text = "invalid redis options:";
        for (const auto& p : problems) text += "\n  " + p;
        throw std::invalid_argument(text);
    }
    return options;
}

// Starts `body` on a thread that has every signal blocked: the resolver's
// signals (HUP, TERM, ...) belong to its own threads, and a SIGPIPE from
// writing to a socket Redis just closed must not kill the process; hiredis
// then sees EPIPE and the store reconnects.
template <typename F>
std::thread start_quiet_thread(F&& body) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread t(std::forward<F>(body));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return t;
}

}  // namespace

RedisFleetStore::RedisFleetStore(RedisOptions options, Callbacks callbacks, StoreLogSink log)
    : counters_(std::make_unique<StoreCounters>()) {
    options = checked(std::move(options));
    queue_ = std::make_unique<SubmitQueue>(options.queue_capacity, kEventLaneCapacity);
    loop_ = std::make_unique<FleetIoLoop>(std::move(options), std::move(callbacks), std::move(log),
                                          *queue_, *counters_);
    thread_ = start_quiet_thread([this] { loop_->run(stop_); });
}

RedisFleetStore::~RedisFleetStore() {
    stop_.store(true);
    queue_->wake();
    if (thread_.joinable()) thread_.join();
}

bool RedisFleetStore::accept(const std::string& domain) {
    if (domain.empty() || domain.size() > kMaxDomainBytes) {
        counters_->dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

bool RedisFleetStore::submit(FleetUpdate update) {
    if (!accept(update.domain)) return false;
    if (!queue_->push(std::move(update))) {
        counters_->dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    counters_->submitted.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void RedisFleetStore::publish_block(FleetBlock block) {
    if (!accept(block.domain)) return;
    if (!queue_->push(FleetEvent(std::move(block))))
        counters_->dropped.fetch_add(1, std::memory_order_relaxed);
}

void RedisFleetStore::publish_unblock(std::string domain, std::string reason, std::string who) {
    if (!accept(domain)) return;
    if (!queue_->push(
            FleetEvent(FleetUnblock{std::move(domain), std::move(reason), std::move(who)})))
        counters_->dropped.fetch_add(1, std::memory_order_relaxed);
}

void RedisFleetStore::record_client(ClientHit hit) {
    if (!accept(hit.domain) || hit.client.empty() || hit.client.size() > 64) return;
    if (!queue_->push(FleetEvent(std::move(hit))))
        counters_->dropped.fetch_add(1, std::memory_order_relaxed);
}

FleetStats RedisFleetStore::stats() const { return counters_->snapshot(); }

}  // namespace fluxguard
