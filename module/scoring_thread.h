// Scores upstream answers on a thread of its own: a resolver worker only
// copies the answer into a bounded ring (answer_ring.h) and goes on, so it never waits on
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

#include "answer_ring.h"
#include "fluxguard_abi.h"

namespace fluxguard {

class ScoringThread {
public:
    using Score = std::function<void(const fg_observation&)>;

    // Bytes of answers waiting at most: each takes its names and rdata, 40
    // bytes per record and a header (AnswerRing::entry_bytes() says exactly;
    // estimated, not measured: ~0.5 KiB for an A answer with its delegation,
    // so some 30,000 of those). Only the deepest backlog's
    // share is ever touched (and counted in the module's memory).
    static constexpr std::size_t capacity_bytes = 16 << 20;
    // The thread's nice value: below the resolver's workers.
    static constexpr int scoring_nice = 10;

    explicit ScoringThread(Score score);
    // Scores what is already queued, then stops.
    ~ScoringThread();
    ScoringThread(const ScoringThread&) = delete;
    ScoringThread& operator=(const ScoringThread&) = delete;

    // False when the ring is full and the answer was dropped.
    bool submit(const fg_observation& obs);

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::size_t queued() const { return ring_.queued(); }
    // Bytes of the ring in use at the deepest backlog so far (for get_mem).
    std::size_t memory_bytes() const { return ring_.touched_bytes(); }

private:
    void run();

    Score score_;
    AnswerRing ring_{capacity_bytes};
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;  // last: starts after the rest exists
};

}  // namespace fluxguard
