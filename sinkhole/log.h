// The sinkhole's log: one line per message on standard error (or on a sink a
// test supplies), prefixed with the program name and the level, written with
// a single write() so lines from different threads never interleave.
// Messages that carry client bytes must have passed through escape_bytes()
// (hit_record.h); the log does not escape again.
//
// limited() keeps a failing Redis or a flood from flooding the log: the
// first line of a topic goes out at once, then at most one per interval,
// telling how many were held back.
//
// Thread-safe: the network thread and the sinks' threads share one Log.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace fluxguard::sinkhole {

enum class Level { info, warning, error };
std::string_view to_string(Level);

class Log {
  public:
    using Sink = std::function<void(Level, std::string_view line)>;
    using Clock = std::chrono::steady_clock;

    // Without a sink, lines go to standard error.
    explicit Log(Sink sink = {}, std::chrono::milliseconds interval = std::chrono::seconds(10));

    void write(Level level, std::string_view message);
    void info(std::string_view message) { write(Level::info, message); }
    void warning(std::string_view message) { write(Level::warning, message); }
    void error(std::string_view message) { write(Level::error, message); }

    void limited(std::string_view topic, Level level, std::string_view message);

  private:
    struct Topic {
        Clock::time_point last{};
        std::uint64_t held_back = 0;
    };
    Sink sink_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;  // guards topics_ and serialises the default sink
    std::map<std::string, Topic, std::less<>> topics_;
};

}  // namespace fluxguard::sinkhole
