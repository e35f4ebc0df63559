// The hand-over from resolver threads to the store's I/O thread: two bounded
// FIFO lanes (updates; blocks and unblocks, which are rare and must not be
// crowded out by updates) behind one mutex, and an eventfd that wakes the I/O
// thread when it sleeps in poll().
//
// Producers never wait on I/O, and hardly on each other: a push holds the
// mutex for one deque push_back; the consumer holds it only to swap the whole
// producer-side deque with its own empty one (O(1)), then works through its
// side without the lock. The eventfd is written only when the consumer has
// armed the wake-up (it is about to sleep), so a busy store costs producers
// no system call at all. The capacity counts both sides.
// Thread-safe: any number of producers, one consumer (the I/O thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <variant>
#include <vector>

#include "fleet_events.h"
#include "fleet_store.h"

namespace fluxguard {

class SubmitQueue {
  public:
    using Event = FleetEvent;  // a block or an unblock to publish

    // Throws std::system_error when no eventfd can be created.
    SubmitQueue(std::size_t update_capacity, std::size_t event_capacity);
    ~SubmitQueue();
    SubmitQueue(const SubmitQueue&) = delete;
    SubmitQueue& operator=(const SubmitQueue&) = delete;

    // False when the lane is full (the element is dropped).
    bool push(FleetUpdate&& update);
    bool push(Event&& event);

    // Consumer side.
    std::size_t pop_updates(std::vector<FleetUpdate>& out, std::size_t max);
    std::size_t pop_events(std::deque<Event>& out);
    bool has_updates() const;
    bool has_events() const;

    // Before sleeping in poll() on wake_fd(): after arm(), the next push makes
    // wake_fd() readable. Check has_*() after arming, not before, or a push in
    // between is slept through.
    void arm() { armed_.store(true); }
    // After poll(): drops the armed flag and empties the eventfd.
    void disarm();
    // Makes wake_fd() readable now (used to stop the thread).
    void wake();
    int wake_fd() const { return fd_; }

  private:
    void notify();

    mutable std::mutex mutex_;
    std::deque<FleetUpdate> updates_;  // producer side, under mutex_
    std::deque<Event> events_;         // under mutex_
    std::deque<FleetUpdate> taken_;    // consumer side: no lock
    std::atomic<std::size_t> taken_size_{0};
    const std::size_t update_capacity_;
    const std::size_t event_capacity_;
    std::atomic<bool> armed_{false};
    int fd_ = -1;
};

}  // namespace fluxguard
