#include "submit_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace fluxguard {

SubmitQueue::SubmitQueue(std::size_t update_capacity, std::size_t event_capacity)
    : update_capacity_(update_capacity), event_capacity_(event_capacity) {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

SubmitQueue::~SubmitQueue() {
    if (fd_ >= 0) ::close(fd_);
}

bool SubmitQueue::push(FleetUpdate&& update) {
    {
        std::lock_guard lock(mutex_);
        if (updates_.size() + taken_size_.load(std::memory_order_relaxed) >= update_capacity_)
            return false;
        updates_.push_back(std::move(update));
    }
    notify();
    return true;
}

bool SubmitQueue::push(Event&& event) {
    {
        std::lock_guard lock(mutex_);
        if (events_.size() >= event_capacity_) return false;
        events_.push_back(std::move(event));
    }
    notify();
    return true;
}

std::size_t SubmitQueue::pop_updates(std::vector<FleetUpdate>& out, std::size_t max) {
    if (taken_.empty()) {
        std::lock_guard lock(mutex_);
        taken_.swap(updates_);
        taken_size_.store(taken_.size(), std::memory_order_relaxed);
    }
    std::size_t n = 0;
    while (n < max && !taken_.empty()) {
        out.push_back(std::move(taken_.front()));
        taken_.pop_front();
        ++n;
    }
    taken_size_.store(taken_.size(), std::memory_order_relaxed);
    return n;
}

std::size_t SubmitQueue::pop_events(std::deque<Event>& out) {
    std::lock_guard lock(mutex_);
    const std::size_t n = events_.size();
    for (auto& e : events_) out.push_back(std::move(e));
    events_.clear();
    return n;
}

bool SubmitQueue::has_updates() const {
    if (!taken_.empty()) return true;
    std::lock_guard lock(mutex_);
    return !updates_.empty();
}

bool SubmitQueue::has_events() const {
    std::lock_guard lock(mutex_);
    return !events_.empty();
}

void SubmitQueue::notify() {
    // seq_cst exchange pairs with arm()'s store: either the consumer sees the
    // element when it checks after arming, or we see the flag and wake it.
    if (armed_.exchange(false)) wake();
}

void SubmitQueue::wake() {
    const std::uint64_t one = 1;
    // Non-blocking; it can only fail if the counter would overflow, and then
    // the fd is readable anyway.
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
}

void SubmitQueue::disarm() {
    armed_.store(false);
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
}

}  // namespace fluxguard
