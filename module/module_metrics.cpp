#include "module_metrics.h"

#include "fleet_link.h"
#include "scoring_thread.h"

namespace fluxguard {

ModuleMetrics::ModuleMetrics(const Engine& engine, const FleetLink* fleet,
                             const ScoringThread& scoring, const std::string& address,
                             const char* policy)
    : observed_(&registry_.counter("fluxguard_resolutions_observed_total",
                                   "Upstream A/AAAA answers handed to the module")),
      rewritten_(&registry_.counter("fluxguard_answers_rewritten_total",
                                    "Answers replaced because the name is blocked",
                                    {{"policy", policy}})),
      client_hits_(&registry_.counter("fluxguard_client_hits_total",
                                      "Clients recorded asking for blocked names")) {
    registry_.gauge_callback("fluxguard_domains_tracked", "Domains with flux state in memory",
                             [&engine] { return static_cast<double>(engine.tracked_domains()); });
    registry_.gauge_callback("fluxguard_domains_blocked", "Domains blocked on this resolver",
                             [&engine] { return static_cast<double>(engine.blocklist().size()); });
    registry_.counter_callback("fluxguard_resolutions_dropped_total",
                               "Upstream answers left unscored because the scoring queue was full",
                               [&scoring] { return scoring.dropped(); });
    registry_.gauge_callback("fluxguard_scoring_queue", "Upstream answers waiting to be scored",
                             [&scoring] { return static_cast<double>(scoring.queued()); });
    registry_.gauge_callback("fluxguard_memory_bytes",
                             "Bytes of the scoring state (estimated) and of the answer ring in use",
                             [&engine, &scoring] {
                                 return static_cast<double>(engine.memory_bytes() +
                                                            scoring.memory_bytes());
                             });
    registry_.counter_callback("fluxguard_verdicts_total",
                               "Domains flagged here (blocks, or flags under policy monitor)",
                               [&engine] { return engine.verdicts(); });
    if (fleet) {
        registry_.counter_callback("fluxguard_store_submitted_total", "Observations queued for Redis",
                                   [fleet] { return fleet->stats().submitted; });
        registry_.counter_callback("fluxguard_store_dropped_total",
                                   "Observations dropped because the Redis queue was full",
                                   [fleet] { return fleet->stats().dropped; });
        registry_.counter_callback("fluxguard_store_errors_total", "Redis commands that failed",
                                   [fleet] { return fleet->stats().errors; });
        registry_.counter_callback("fluxguard_store_round_trips_total", "Redis round trips",
                                   [fleet] { return fleet->stats().round_trips; });
        registry_.gauge_callback("fluxguard_store_connected", "1 while connected to Redis",
                                 [fleet] { return fleet->stats().connected ? 1.0 : 0.0; });
    }
    server_ = std::make_unique<metrics::MetricsServer>(registry_, address);
}

}  // namespace fluxguard
