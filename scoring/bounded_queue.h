// A bounded FIFO between producer threads (resolver workers, the sinkhole's
// network thread) and one consumer thread (the module's scorer, a sink).
// push() never waits: when the queue is full the element is refused and the
// caller counts the drop. The consumer takes elements in
// batches and may sleep until one arrives, close() is called or a timeout.
// Thread-safe: any number of producers, one consumer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace fluxguard {

template <class T>
class BoundedQueue {
  public:
    explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}
    BoundedQueue(const BoundedQueue&) = delete;
    BoundedQueue& operator=(const BoundedQueue&) = delete;

    // False when full or closed (the element is not taken).
    bool push(T&& value) {
        bool wake = false;
        {
            const std::lock_guard lock(mutex_);
            if (closed_ || items_.size() >= capacity_) return false;
            items_.push_back(std::move(value));
            wake = waiting_;
        }
        // Only a consumer asleep in pop() needs the system call.
        if (wake) ready_.notify_one();
        return true;
    }

    // Moves up to `max` elements to `out`, waiting up to `wait` for the first.
    // Returns how many were moved.
    std::size_t pop(std::vector<T>& out, std::size_t max, std::chrono::milliseconds wait) {
        std::unique_lock lock(mutex_);
        if (wait.count() > 0) {
            waiting_ = true;
            ready_.wait_for(lock, wait, [&] { return closed_ || !items_.empty() || woken_; });
            waiting_ = false;
        }
        woken_ = false;
        std::size_t n = 0;
        while (n < max && !items_.empty()) {
            out.push_back(std::move(items_.front()));
            items_.pop_front();
            ++n;
        }
        return n;
    }

    // Refuses further pushes and wakes the consumer; queued elements stay
    // for it to take.
    void close() {
        {
            const std::lock_guard lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }

    // Ends the consumer's current wait without closing (e.g. to reopen a file).
    void wake() {
        {
            const std::lock_guard lock(mutex_);
            woken_ = true;
        }
        ready_.notify_all();
    }

    bool closed() const {
        const std::lock_guard lock(mutex_);
        return closed_;
    }
    std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return items_.size();
    }

  private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<T> items_;
    bool closed_ = false;
    bool woken_ = false;
    bool waiting_ = false;  // the consumer sleeps in pop()
};

}  // namespace fluxguard
