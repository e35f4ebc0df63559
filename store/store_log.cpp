#include "store_log.h"

#include <algorithm>
#include <utility>

namespace fluxguard {

RateLimitedLog::RateLimitedLog(StoreLogSink sink, std::chrono::milliseconds topic_interval,
                               int burst, std::chrono::milliseconds refill)
    : sink_(std::move(sink)),
      topic_interval_(topic_interval),
      burst_(burst),
      refill_(refill),
      tokens_(burst),
      last_refill_(Clock::now()) {}

void RateLimitedLog::emit(int level, const std::string& message) noexcept {
    if (!sink_) return;
    try {
        sink_(level, message);
    } catch (...) {
        // A failing log sink must not take the store's thread down with it.
    }
}

void RateLimitedLog::state(int level, std::string message) {
    const auto now = Clock::now();
    const double refilled =
        std::chrono::duration<double>(now - last_refill_) / std::chrono::duration<double>(refill_);
    tokens_ = std::min<double>(burst_, tokens_ + refilled);
    last_refill_ = now;
    if (tokens_ < 1) {
        ++state_suppressed_;
        return;
    }
    tokens_ -= 1;
    if (state_suppressed_ > 0) {
        message += " (" + std::to_string(state_suppressed_) +
                   " earlier state changes not logged: too many)";
        state_suppressed_ = 0;
    }
    emit(level, message);
}

void RateLimitedLog::repeated(std::string_view topic, int level, std::string message) {
    const auto now = Clock::now();
    auto it = topics_.find(topic);
    if (it == topics_.end()) {
        // Topics are a handful of fixed strings chosen by the store, never data
        // from Redis or DNS, so this map stays small.
        it = topics_.emplace(std::string(topic), Topic{}).first;
    }
    Topic& t = it->second;
    if (t.seen && now - t.last < topic_interval_) {
        ++t.suppressed;
        return;
    }
    if (t.suppressed > 0) {
        message += " (and " + std::to_string(t.suppressed) + " more like it since the last line)";
        t.suppressed = 0;
    }
    t.seen = true;
    t.last = now;
    emit(level, message);
}

}  // namespace fluxguard
