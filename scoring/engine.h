// The whole of fluxguard's decision making behind one object: configuration,
// geo data, registrable domains, the scorer and the blocklist. The Unbound
// module, the replay tool and the tests all drive this same class.
// Safe to share across resolver threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blocklist.h"
#include "configuration.h"
#include "fleet_types.h"
#include "flux_scorer.h"
#include "geo.h"
#include "observation.h"
#include "registrable_domain.h"

namespace fluxguard {

enum class LogLevel { info, warning, error };
using LogSink = std::function<void(LogLevel, std::string_view)>;

class Engine {
public:
    // Opens the geo databases; throws GeoError when one is unusable.
    Engine(Config config, LogSink log);

    struct Outcome {
        // Set when this observation blocked a domain: the names whose cached
        // answers must go, so the resolver stops handing them out.
        std::optional<Evidence> new_block;
    };
    // `update`, when given, receives what this resolution adds to the
    // fleet's view of the domain (for the shared store), if anything.
    Outcome observe(const Observation& obs, FleetUpdate* update = nullptr);

    // The fleet's combined view crossed the threshold: a block to publish.
    std::optional<FleetBlock> judge_fleet(const FleetView& view);

    // A block or unblock decided anywhere in the fleet (or by an operator).
    // apply_block returns the names under the domain this instance has seen
    // resolving, whose cached answers must go; empty if already blocked.
    std::vector<std::string> apply_block(const FleetBlock& block);
    bool apply_unblock(const std::string& domain);

    // The operators' allow list kept in the fleet store, replacing the last
    // one; honoured like `allow` entries of the configuration.
    void set_operator_allow_list(const std::vector<std::string>& domains);

    // The block covering `name`, when the policy rewrites answers.
    std::optional<Block> blocked(std::string_view name) const;

    const Config& config() const { return config_; }
    const Blocklist& blocklist() const { return blocklist_; }
    std::size_t tracked_domains() const { return scorer_.tracked_domains(); }
    std::size_t memory_bytes() const { return scorer_.memory_bytes() + blocklist_.memory_bytes(); }
    // Verdicts logged so far (blocks, and flags under policy monitor).
    std::uint64_t verdicts() const { return verdicts_.load(std::memory_order_relaxed); }

private:
    bool allowed(std::string_view name) const;

    Config config_;
    LogSink log_;
    GeoDatabase geo_;
    RegistrableDomains registrable_;
    FluxScorer scorer_;
    Blocklist blocklist_;
    std::atomic<std::uint64_t> verdicts_{0};
    mutable std::shared_mutex operator_allow_mutex_;
    std::vector<std::string> operator_allow_;
    std::atomic<bool> has_operator_allow_{false};
};

}  // namespace fluxguard
