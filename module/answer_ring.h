// Upstream answers on their way from resolver workers to the scoring
// thread: one preallocated ring of bytes, each answer copied into it whole
// (its fg_observation, records, names and rdata) so the scorer reads it in
// place after the query has moved on.
// Why not a queue of heap copies: each answer then cost the worker two
// allocations and the scorer two frees of another thread's memory (glibc
// takes the owning arena's lock); perf put a quarter of the scoring
// thread's time in free() on the cache-miss benchmark.
// A worker reserves its entry under a mutex held for a few comparisons,
// copies outside it and publishes the entry with an atomic store; the
// consumer takes entries in order up to the first not yet published. When
// the consumer has caught up, writing starts again at the beginning, so
// the memory touched is the deepest backlog, not the capacity.
// Thread-safe: push() from any thread, consume() from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "fluxguard_abi.h"

namespace fluxguard {

class AnswerRing {
public:
    explicit AnswerRing(std::size_t capacity_bytes);
    AnswerRing(const AnswerRing&) = delete;
    AnswerRing& operator=(const AnswerRing&) = delete;

    // Bytes an answer takes in the ring.
    static std::size_t entry_bytes(const fg_observation& obs);

    // Copies the answer in; false (nothing taken) when it does not fit in
    // the free space, is larger than a quarter of the ring, or after close().
    bool push(const fg_observation& obs);

    // Calls `visit` on published answers in order, at most `max`, waiting up
    // to `wait` for the first. The view is valid during the call only.
    // Returns how many were visited. One consumer at a time.
    std::size_t consume(const std::function<void(const fg_observation&)>& visit,
                        std::size_t max, std::chrono::milliseconds wait);

    // Refuses further answers and wakes the consumer; queued ones stay.
    void close();
    bool closed() const;
    std::size_t queued() const;
    // Bytes of the ring written so far at the deepest backlog: its share of
    // the process's memory (pages never written are never touched).
    std::size_t touched_bytes() const;

private:
    struct Entry;

    Entry* entry_at(std::size_t count) const;
    std::size_t past_gap(std::size_t count) const;
    bool first_published() const;  // with mutex_ held

    struct Unmap {
        std::size_t size;
        void operator()(std::byte* bytes) const noexcept;
    };

    const std::size_t capacity_;
    std::unique_ptr<std::byte[], Unmap> bytes_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    // Bytes ever consumed and ever reserved since the ring was last empty;
    // an entry starts at its count modulo the capacity.
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    std::size_t queued_ = 0;
    std::size_t touched_ = 0;
    bool closed_ = false;
    // Set by the consumer while it sleeps; read by producers without the
    // mutex, after publishing (see push()).
    std::atomic<bool> waiting_{false};
};

}  // namespace fluxguard
