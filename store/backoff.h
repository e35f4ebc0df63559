// Reconnect delays: exponential from `initial` to `max`, each drawn uniformly
// from [delay/2, delay] ("equal jitter") so that after a Redis restart the
// instances of a fleet spread their reconnects instead of arriving together.
// NOT thread-safe; the store's I/O thread owns one per connection.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace fluxguard {

class Backoff {
  public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
        : initial_(std::max<std::chrono::milliseconds>(initial, std::chrono::milliseconds(1))),
          max_(std::max(max, initial_)),
          random_(std::random_device{}()) {}

    // The delay before the next attempt; each call doubles the next one.
    std::chrono::milliseconds next() {
        const auto ceiling = current();
        if (failures_ < 62) ++failures_;
        std::uniform_int_distribution<std::int64_t> pick(ceiling.count() / 2, ceiling.count());
        return std::chrono::milliseconds(pick(random_));
    }
    void reset() { failures_ = 0; }
    int failures() const { return failures_; }

  private:
    std::chrono::milliseconds current() const {
        // Double without overflowing: stop as soon as the cap is reached.
        auto d = initial_;
        for (int i = 0; i < failures_ && d < max_; ++i) d *= 2;
        return std::min(d, max_);
    }

    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    int failures_ = 0;
    std::minstd_rand random_;
};

}  // namespace fluxguard
