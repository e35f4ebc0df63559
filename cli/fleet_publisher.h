// Operator and feed decisions go through the same store the resolvers use
// (RedisFleetStore::publish_block / publish_unblock), so they reach every
// resolver the way a detection does: written to Redis by the store's script
// and announced on <prefix>events. A decision counts as done when the store
// has delivered it back over its own subscription; when that message is not
// seen in time, Redis is read directly, and a decision found written there is
// done too (resolvers then pick it up at their next resync).
//
// Not thread-safe: one publisher per command, used from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "fleet_events.h"
#include "fleet_store.h"
#include "redis_options.h"

namespace fluxguard::cli {

class RedisClient;

struct PublishResult {
    std::size_t delivered = 0;        // seen back over pub/sub
    std::size_t written = 0;          // not seen, but found in Redis
    std::vector<std::string> failed;  // neither: domains
    bool ok() const { return failed.empty(); }
};

class FleetPublisher {
  public:
    // `redis` is used to check decisions whose message did not come back.
    FleetPublisher(const RedisOptions& options, RedisClient& redis);
    ~FleetPublisher();
    FleetPublisher(const FleetPublisher&) = delete;
    FleetPublisher& operator=(const FleetPublisher&) = delete;

    // At most `window` decisions are in flight at once (the store keeps 4096
    // blocks and unblocks waiting at most). Gives up on the ones still
    // unconfirmed after `patience` without any progress.
    PublishResult block(const std::vector<FleetBlock>& blocks);
    PublishResult unblock(const std::vector<FleetUnblock>& unblocks);

    static constexpr std::size_t window = 512;
    static constexpr std::chrono::seconds patience{10};

  private:
    struct State;
    std::unique_ptr<State> state_;
    RedisClient& redis_;
};

}  // namespace fluxguard::cli
