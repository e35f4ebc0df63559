// The whole of fluxguard's decision making behind one object: configuration,
// geo data, registrable domains, the scorer and the blocklist. The Unbound
// module, the replay tool and the tests all drive this same class.
// Safe to share across resolver threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <span>
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
// Drops a name's answers from the resolver's cache (the resolver answers
// cache hits without asking the engine). Called from any thread.
using CachePurge = std::function<void(const std::string& name)>;

class Engine {
public:
    // Opens the geo databases; throws GeoError when one is unusable.
    // `purge` (may be empty) keeps the resolver's cache in step with the
    // blocklist: every name of a domain seen resolving is purged before its
    // block shows and again after, so that a client that has seen the block
    // is not handed a cached answer of the domain afterwards.
    Engine(Config config, LogSink log, CachePurge purge = {});

    struct Outcome {
        // Set when this observation blocked the domain (for the fleet).
        std::optional<Evidence> new_block;
    };
    // `update`, when given, receives what this resolution adds to the
    // fleet's view of the domain (for the shared store), if anything.
    Outcome observe(const Observation& obs, FleetUpdate* update = nullptr);

    // The fleet's combined view crossed the threshold: a block to publish.
    std::optional<FleetBlock> judge_fleet(const FleetView& view);

    // A block or unblock decided anywhere in the fleet (or by an operator).
    // apply_block is true when the domain was not blocked here before.
    bool apply_block(const FleetBlock& block);
    bool apply_unblock(const std::string& domain);

    // The operators' allow list kept in the fleet store, replacing the last
    // one; honoured like `allow` entries of the configuration.
    void set_operator_allow_list(const std::vector<std::string>& domains);

    // The block covering `name`, when the policy rewrites answers.
    std::optional<Block> blocked(std::string_view name) const;

    const Config& config() const { return config_; }
    const Blocklist& blocklist() const { return blocklist_; }
    std::size_t tracked_domains() const { return scorer_.tracked_domains(); }
    std::size_t memory_bytes() const {
        return scorer_.memory_bytes() + blocklist_.memory_bytes() + registrable_.memory_bytes();
    }
    // Verdicts logged so far (blocks, and flags under policy monitor).
    std::uint64_t verdicts() const { return verdicts_.load(std::memory_order_relaxed); }

private:
    bool allowed(std::string_view name) const;
    // Adds the block, purging the cache before and after (see engine.cpp).
    bool block_and_purge(Block block);
    void purge(std::span<const std::string> names) const;

    Config config_;
    LogSink log_;
    CachePurge purge_;
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
