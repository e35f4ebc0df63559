// Scores upstream answers on a thread of its own: a resolver worker only
// copies the answer into a bounded queue and goes on, so it never waits on
// the scorer's locks, the geo databases, libpsl or the fleet store (house
// style: the hot path is a copy and a block look-up). When scoring falls
// behind, answers are dropped and counted, never queued without bound and
// never waited for. The thread runs at a lower priority than the workers, so
// on a machine short of CPU resolution wins and answers go unscored instead.
// The price: the answer whose resolution crosses the threshold has already
// gone to its client; the block (and the purge of cached names) applies
// from the next query on, microseconds later.
// Thread-safe: submit() from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>

#include "bounded_queue.h"
#include "fluxguard_abi.h"
#include "observation_copy.h"

namespace fluxguard {

class ScoringThread {
public:
    using Score = std::function<void(const fg_observation&)>;

    // Answers waiting at most. Each holds its bytes plus 40 bytes per record
    // and ~140 of bookkeeping (observation_copy.h): an estimated 0.5-1 KiB
    // for an A answer with its delegation, so up to ~16 MiB when full (not
    // measured; fluxguard_memory_bytes reports the real figure).
    static constexpr std::size_t capacity = 16384;
    // The thread's nice value: below the resolver's workers.
    static constexpr int scoring_nice = 10;

    explicit ScoringThread(Score score);
    // Scores what is already queued, then stops.
    ~ScoringThread();
    ScoringThread(const ScoringThread&) = delete;
    ScoringThread& operator=(const ScoringThread&) = delete;

    // False when the queue is full and the answer was dropped.
    bool submit(const fg_observation& obs);

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::size_t queued() const { return queue_.size(); }
    // Heap bytes held by queued answers, roughly (for get_mem).
    std::size_t queued_bytes() const { return queued_bytes_.load(std::memory_order_relaxed); }

private:
    void run();

    Score score_;
    BoundedQueue<ObservationCopy> queue_{capacity};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::size_t> queued_bytes_{0};
    std::thread thread_;  // last: starts after the rest exists
};

}  // namespace fluxguard
