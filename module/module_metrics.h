// The module's Prometheus metrics (metrics-address): what it observed and
// rewrote, what it tracks, and how the fleet store fares. Counters are single
// relaxed atomics, safe to bump from resolver threads.
#pragma once

#include <memory>
#include <string>

#include "engine.h"
#include "metrics_server.h"
#include "registry.h"

namespace fluxguard {

class FleetLink;
class ScoringThread;

class ModuleMetrics {
public:
    // Starts the endpoint; throws std::invalid_argument / std::runtime_error
    // naming the address when it is bad or cannot be bound.
    ModuleMetrics(const Engine& engine, const FleetLink* fleet, const ScoringThread& scoring,
                  const std::string& address, const char* policy);

    void observed() { observed_->inc(); }
    void rewritten() { rewritten_->inc(); }
    void client_hit() { client_hits_->inc(); }

private:
    metrics::Registry registry_;
    metrics::Counter* observed_;
    metrics::Counter* rewritten_;
    metrics::Counter* client_hits_;
    std::unique_ptr<metrics::MetricsServer> server_;  // last: stops before the rest goes
};

}  // namespace fluxguard
