// Joins this resolver's engine to the fleet through the Redis store: local
// observations go out (queued, never waited for), the fleet's combined views
// come back and may block, and blocks decided anywhere land in the local
// blocklist (the engine purges the cached names). Callbacks run on the
// store's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine.h"
#include "fleet_store.h"

namespace fluxguard {

class FleetLink {
public:
    using Log = std::function<void(LogLevel, std::string_view)>;

    // Throws std::invalid_argument naming a bad Redis setting.
    FleetLink(Engine& engine, const FleetConfig& config, Log log);
    ~FleetLink();

    // After the engine has scored an observation locally.
    void share(FleetUpdate update, const std::optional<Evidence>& local_block);
    void record_client(ClientHit hit) { store_->record_client(std::move(hit)); }
    FleetStats stats() const;  // any thread

private:
    Engine& engine_;
    Log log_;
    std::unique_ptr<FleetStore> store_;
};

}  // namespace fluxguard
