#include "fleet_publisher.h"

#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "key_layout.h"
#include "redis_client.h"
#include "redis_fleet_store.h"

namespace fluxguard::cli {

namespace {

using Clock = std::chrono::steady_clock;
// How long the pub/sub confirmation is waited for before Redis is read.
constexpr std::chrono::milliseconds kReadBackAfter{2000};

}  // namespace

struct FleetPublisher::State {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::string, FleetBlock> blocks;  // in flight, by domain
    std::set<std::string> unblocks;            // in flight
    std::size_t delivered = 0;
    KeyLayout layout;
    // Last: destroyed first, so no callback runs on a dead State.
    std::unique_ptr<RedisFleetStore> store;

    explicit State(const std::string& prefix) : layout(prefix) {}

    void on_block(const FleetBlock& b) {
        std::lock_guard lock(mutex);
        auto it = blocks.find(b.domain);
        // The store's resync also reports blocks already in Redis: only ours counts.
        if (it == blocks.end() || it->second.since != b.since || it->second.source != b.source ||
            it->second.reason != b.reason)
            return;
        blocks.erase(it);
        ++delivered;
        changed.notify_all();
    }
    void on_unblock(const std::string& domain) {
        std::lock_guard lock(mutex);
        if (unblocks.erase(domain) == 0) return;
        ++delivered;
        changed.notify_all();
    }
};

FleetPublisher::FleetPublisher(const RedisOptions& options, RedisClient& redis)
    : state_(std::make_unique<State>(options.key_prefix)), redis_(redis) {
    FleetStore::Callbacks callbacks;
    State* s = state_.get();
    callbacks.on_block = [s](const FleetBlock& b) { s->on_block(b); };
    callbacks.on_unblock = [s](const std::string& d) { s->on_unblock(d); };
    auto log = [](int level, std::string_view message) {
        if (level >= 1) std::cerr << "fluxctl: " << message << "\n";
    };
    // fluxctl is not a resolver: it stays out of the fleet's instance registry.
    RedisOptions tool = options;
    tool.register_instance = false;
    state_->store = std::make_unique<RedisFleetStore>(std::move(tool), std::move(callbacks), log);
}

FleetPublisher::~FleetPublisher() = default;

PublishResult FleetPublisher::block(const std::vector<FleetBlock>& blocks) {
    PublishResult result;
    State& s = *state_;
    std::size_t next = 0;
    auto last_progress = Clock::now();
    std::size_t last_delivered = 0;
    std::size_t written_total = 0;
    for (;;) {
        {
            std::unique_lock lock(s.mutex);
            while (next < blocks.size() && s.blocks.size() < window) {
                s.blocks[blocks[next].domain] = blocks[next];
                s.store->publish_block(blocks[next]);
                ++next;
            }
            if (s.blocks.empty() && next == blocks.size()) break;
            s.changed.wait_for(lock, std::chrono::milliseconds(200));
            if (s.delivered != last_delivered) {
                last_delivered = s.delivered;
                last_progress = Clock::now();
            }
        }
        const auto idle = Clock::now() - last_progress;
        if (idle < kReadBackAfter) continue;
        // No message for a while: read what the store has written.
        std::vector<FleetBlock> pending;
        {
            std::lock_guard lock(s.mutex);
            for (const auto& [domain, b] : s.blocks) pending.push_back(b);
        }
        std::vector<Argv> reads;
        for (const auto& b : pending)
            reads.push_back({"HMGET", s.layout.block_key(b.domain), "since", "source", "reason"});
        const auto replies = redis_.pipeline(reads);
        std::size_t found = 0;
        {
            std::lock_guard lock(s.mutex);
            for (std::size_t i = 0; i < pending.size(); ++i) {
                const auto& r = replies[i];
                const auto& b = pending[i];
                if (r.is_array() && r.elements.size() == 3 && r.elements[0].as_int(-1) == b.since &&
                    r.elements[1].str == b.source && r.elements[2].str == b.reason &&
                    s.blocks.erase(b.domain)) {
                    ++found;
                }
            }
        }
        written_total += found;
        if (found > 0) {
            last_progress = Clock::now();
            continue;
        }
        if (idle >= patience) {
            std::lock_guard lock(s.mutex);
            for (const auto& [domain, b] : s.blocks) result.failed.push_back(domain);
            for (; next < blocks.size(); ++next) result.failed.push_back(blocks[next].domain);
            s.blocks.clear();
            break;
        }
    }
    std::lock_guard lock(s.mutex);
    result.delivered = s.delivered;
    result.written = written_total;
    s.delivered = 0;
    return result;
}

PublishResult FleetPublisher::unblock(const std::vector<FleetUnblock>& unblocks) {
    PublishResult result;
    State& s = *state_;
    // Blocked now: then "gone from <prefix>blocked" proves the store's script
    // ran even if its message is not seen. Not blocked: only the message can.
    std::vector<Argv> before;
    for (const auto& u : unblocks) before.push_back({"ZSCORE", s.layout.blocked(), u.domain});
    const auto was = redis_.pipeline(before);
    std::set<std::string> was_blocked;
    for (std::size_t i = 0; i < unblocks.size(); ++i)
        if (!was[i].is_nil() && !was[i].is_error()) was_blocked.insert(unblocks[i].domain);

    std::size_t next = 0;
    auto last_progress = Clock::now();
    std::size_t last_delivered = 0;
    std::size_t written_total = 0;
    for (;;) {
        {
            std::unique_lock lock(s.mutex);
            while (next < unblocks.size() && s.unblocks.size() < window) {
                const auto& u = unblocks[next];
                s.unblocks.insert(u.domain);
                s.store->publish_unblock(u.domain, u.reason, u.who);
                ++next;
            }
            if (s.unblocks.empty() && next == unblocks.size()) break;
            s.changed.wait_for(lock, std::chrono::milliseconds(200));
            if (s.delivered != last_delivered) {
                last_delivered = s.delivered;
                last_progress = Clock::now();
            }
        }
        const auto idle = Clock::now() - last_progress;
        if (idle < kReadBackAfter) continue;
        std::vector<std::string> pending;
        {
            std::lock_guard lock(s.mutex);
            for (const auto& d : s.unblocks)
                if (was_blocked.contains(d)) pending.push_back(d);
        }
        std::vector<Argv> reads;
        for (const auto& d : pending) reads.push_back({"ZSCORE", s.layout.blocked(), d});
        const auto replies = redis_.pipeline(reads);
        std::size_t found = 0;
        {
            std::lock_guard lock(s.mutex);
            for (std::size_t i = 0; i < pending.size(); ++i)
                if (replies[i].is_nil() && s.unblocks.erase(pending[i])) ++found;
        }
        written_total += found;
        if (found > 0) {
            last_progress = Clock::now();
            continue;
        }
        if (idle >= patience) {
            std::lock_guard lock(s.mutex);
            result.failed.assign(s.unblocks.begin(), s.unblocks.end());
            for (; next < unblocks.size(); ++next) result.failed.push_back(unblocks[next].domain);
            s.unblocks.clear();
            break;
        }
    }
    std::lock_guard lock(s.mutex);
    result.delivered = s.delivered;
    result.written = written_total;
    s.delivered = 0;
    return result;
}

}  // namespace fluxguard::cli
