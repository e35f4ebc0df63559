#include "engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "dns_name.h"

namespace fluxguard {

Engine::Engine(Config config, LogSink log)
    : config_(std::move(config)),
      log_(std::move(log)),
      geo_(config_.asn_database, config_.country_database),
      scorer_(config_.scoring, geo_) {}

bool Engine::allowed(std::string_view name) const {
    return std::any_of(config_.allow.begin(), config_.allow.end(),
                       [&](const std::string& a) { return is_at_or_below(name, a); });
}

Engine::Outcome Engine::observe(const Observation& obs) {
    if (obs.addresses.empty()) return {};
    if (std::any_of(obs.chain.begin(), obs.chain.end(),
                    [&](const std::string& n) { return allowed(n); }))
        return {};
    const std::string domain = registrable_.of(obs.address_owner());
    auto evidence = scorer_.observe(domain, obs);
    if (!evidence) return {};

    const bool enforce = config_.policy != Policy::monitor;
    log_(LogLevel::info, to_json_line(*evidence, enforce ? "block" : "monitor"));
    if (!enforce) return {};
    Block block{domain, fmt::format("fast flux: {} score {:.1f} > {:g}", domain, evidence->score,
                                    evidence->threshold),
                evidence->score, evidence->time};
    if (!blocklist_.add(std::move(block))) return {};
    return {std::move(evidence)};
}

std::optional<Block> Engine::blocked(std::string_view name) const {
    if (config_.policy == Policy::monitor || blocklist_.size() == 0 || allowed(name))
        return std::nullopt;
    return blocklist_.covering(name);
}

}  // namespace fluxguard
