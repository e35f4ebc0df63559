#include "engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "dns_name.h"

namespace fluxguard {

Engine::Engine(Config config, LogSink log, CachePurge purge)
    : config_(std::move(config)),
      log_(std::move(log)),
      purge_(std::move(purge)),
      geo_(config_.asn_database, config_.country_database),
      scorer_(config_.scoring, geo_) {}

bool Engine::allowed(std::string_view name) const {
    const auto covers = [&](const std::string& a) { return is_at_or_below(name, a); };
    if (std::any_of(config_.allow.begin(), config_.allow.end(), covers)) return true;
    if (!has_operator_allow_.load(std::memory_order_acquire)) return false;
    std::shared_lock lock(operator_allow_mutex_);
    return std::any_of(operator_allow_.begin(), operator_allow_.end(), covers);
}

void Engine::set_operator_allow_list(const std::vector<std::string>& domains) {
    std::vector<std::string> names;
    for (const auto& d : domains)
        if (auto n = normalize_name(d); n && !n->empty()) names.push_back(std::move(*n));
    std::unique_lock lock(operator_allow_mutex_);
    operator_allow_ = std::move(names);
    has_operator_allow_.store(!operator_allow_.empty(), std::memory_order_release);
}

namespace {

std::string block_reason(const Evidence& e) {
    return fmt::format("fast flux: {} score {:.1f} > {:g}", e.domain, e.score, e.threshold);
}

}  // namespace

Engine::Outcome Engine::observe(const Observation& obs, FleetUpdate* update) {
    if (obs.addresses.empty()) return {};
    if (std::any_of(obs.chain.begin(), obs.chain.end(),
                    [&](const std::string& n) { return allowed(n); }))
        return {};
    const std::string domain = registrable_.of(obs.address_owner());
    if (update) {
        update->addresses.clear();
        update->name_servers.clear();
    }
    bool flagged_before = false;
    auto evidence =
        scorer_.observe(domain, obs, update ? &update->addresses : nullptr, &flagged_before);
    if (update) {
        update->domain = domain;
        update->time = obs.time;
        update->min_ttl = UINT32_MAX;
        for (const auto& a : obs.addresses) update->min_ttl = std::min(update->min_ttl, a.ttl);
        for (const auto& ns : obs.name_servers) update->name_servers.push_back(ns.name);
        // The scorer looked the addresses up unless the answer was no
        // evidence to it (TTL above the ceiling); the fleet gets them anyway.
        if (update->addresses.empty())
            for (const auto& a : obs.addresses) {
                const GeoInfo geo = geo_.lookup(a.address);
                update->addresses.push_back({a.address, geo.asn, geo.country, geo.continent});
            }
    }
    // Blocked already: this answer was queued for scoring when the block
    // came, so it went out, and the block's purges may have come before the
    // scorer knew its names (see block_and_purge()).
    if (flagged_before && config_.policy != Policy::monitor) {
        purge(obs.chain.empty() ? std::span(&obs.qname, 1) : std::span(obs.chain));
        return {};
    }
    if (!evidence) return {};

    const bool enforce = config_.policy != Policy::monitor;
    verdicts_.fetch_add(1, std::memory_order_relaxed);
    log_(LogLevel::info, to_json_line(*evidence, enforce ? "block" : "monitor"));
    if (!enforce) return {};
    if (!block_and_purge({domain, block_reason(*evidence), evidence->score, evidence->time}))
        return {};
    return {std::move(evidence)};
}

std::optional<FleetBlock> Engine::judge_fleet(const FleetView& view) {
    if (allowed(view.domain)) return std::nullopt;
    auto evidence = scorer_.judge_fleet(view);
    if (!evidence) return std::nullopt;
    const bool enforce = config_.policy != Policy::monitor;
    const std::string line = to_json_line(*evidence, enforce ? "block" : "monitor");
    verdicts_.fetch_add(1, std::memory_order_relaxed);
    log_(LogLevel::info, line);
    if (!enforce) return std::nullopt;
    return FleetBlock{view.domain, evidence->score, evidence->time, "detected",
                      block_reason(*evidence), line};
}

bool Engine::apply_block(const FleetBlock& block) {
    if (config_.policy == Policy::monitor || allowed(block.domain)) return false;
    return block_and_purge({block.domain, block.reason, block.score, block.since});
}

// The cache is purged before the block shows, so that names cached long ago
// are gone by the time any client can see the block, and again after, for
// names resolved in between. An answer that passed the worker's block check
// is recorded by the scorer under the lock mark_blocked() takes: recorded
// first, mark_blocked() returns its name; after, observe() finds the domain
// flagged and purges it. (Not covered: a block for a domain this instance
// has no state for, racing its first resolution here; that answer stays
// cached for its TTL.)
bool Engine::block_and_purge(Block block) {
    if (blocklist_.covering(block.domain)) return false;
    const std::string domain = block.domain;
    const auto names_seen = [&] {
        auto names = scorer_.mark_blocked(domain, block.since);
        names.push_back(domain);
        return names;
    };
    purge(names_seen());
    if (!blocklist_.add(block)) return false;
    purge(names_seen());
    return true;
}

void Engine::purge(std::span<const std::string> names) const {
    if (!purge_) return;
    for (const auto& name : names) purge_(name);
}

bool Engine::apply_unblock(const std::string& domain) {
    scorer_.forget(domain);
    return blocklist_.remove(domain);
}

std::optional<Block> Engine::blocked(std::string_view name) const {
    if (config_.policy == Policy::monitor || blocklist_.size() == 0 || allowed(name))
        return std::nullopt;
    return blocklist_.covering(name);
}

}  // namespace fluxguard
