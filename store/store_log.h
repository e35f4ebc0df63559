// Logging for the store: a sink supplied by the embedder (the module routes it
// to Unbound's log) and a limiter so a flapping or failing Redis cannot flood
// that log. Levels are plain ints in the order of scoring's LogLevel
// (info, warning, error) so the module can forward them with a cast, and so
// store/ does not depend on the engine's headers.
//
// RateLimitedLog is NOT thread-safe: the store uses it from its I/O thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace fluxguard {

namespace store_log {
inline constexpr int info = 0;
inline constexpr int warning = 1;
inline constexpr int error = 2;
}  // namespace store_log

// May be called from the store's I/O thread at any time; must not block for
// long (it runs between Redis round trips) and must not throw.
using StoreLogSink = std::function<void(int level, std::string_view message)>;

class RateLimitedLog {
  public:
    using Clock = std::chrono::steady_clock;

    // At most one line per topic every `topic_interval`; state-change lines are
    // never merged but share a small budget (`burst` lines, one more every
    // `refill`) so a Redis that flaps every few milliseconds costs a few lines
    // a minute, not thousands.
    explicit RateLimitedLog(StoreLogSink sink,
                            std::chrono::milliseconds topic_interval = std::chrono::seconds(10),
                            int burst = 10,
                            std::chrono::milliseconds refill = std::chrono::seconds(6));

    // A change of connection state: logged unless the burst budget is spent.
    // Lines held back are counted and reported with the next one that passes.
    void state(int level, std::string message);

    // A repeating condition (command errors, drops): the first line of a topic
    // goes out at once, then one per interval with the number held back.
    void repeated(std::string_view topic, int level, std::string message);

  private:
    void emit(int level, const std::string& message) noexcept;

    StoreLogSink sink_;
    std::chrono::milliseconds topic_interval_;
    int burst_;
    std::chrono::milliseconds refill_;
    double tokens_;
    Clock::time_point last_refill_;
    std::uint64_t state_suppressed_ = 0;
    struct Topic {
        Clock::time_point last{};
        std::uint64_t suppressed = 0;
        bool seen = false;
    };
    std::map<std::string, Topic, std::less<>> topics_;
};

}  // namespace fluxguard
