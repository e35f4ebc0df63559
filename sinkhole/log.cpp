#include "log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

namespace fluxguard::sinkhole {

std::string_view to_string(Level level) {
    switch (level) {
        case Level::info:
            return "info";
        case Level::warning:
            return "warning";
        case Level::error:
            return "error";
    }
    return "?";
}

Log::Log(Sink sink, std::chrono::milliseconds interval)
    : sink_(std::move(sink)), interval_(interval) {}

void Log::write(Level level, std::string_view message) {
    const auto line = fmt::format("fluxguard-sinkhole: {}: {}\n", to_string(level), message);
    if (sink_) {
        sink_(level, std::string_view(line).substr(0, line.size() - 1));
        return;
    }
    // One write() per line; a full or closed stderr must not stop the sinkhole.
    std::string_view rest = line;
    while (!rest.empty()) {
        const auto n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

void Log::limited(std::string_view topic, Level level, std::string_view message) {
    std::uint64_t held_back = 0;
    {
        const std::lock_guard lock(mutex_);
        auto it = topics_.find(topic);
        if (it == topics_.end()) it = topics_.emplace(std::string(topic), Topic{}).first;
        auto& t = it->second;
        const auto now = Clock::now();
        if (t.last != Clock::time_point{} && now - t.last < interval_) {
            ++t.held_back;
            return;
        }
        held_back = t.held_back;
        t.held_back = 0;
        t.last = now;
    }
    if (held_back == 0)
        write(level, message);
    else
        write(level, fmt::format("{} ({} more like it not logged)", message, held_back));
}

}  // namespace fluxguard::sinkhole
