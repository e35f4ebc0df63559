#include "flux_scorer.h"

#include <algorithm>
#include <functional>

namespace fluxguard {

namespace {

constexpr std::size_t shard_count = 16;
constexpr std::size_t max_names = 32;
constexpr std::size_t max_name_servers = 16;

template <typename T>
void remember(std::vector<T>& list, const T& value, std::size_t cap) {
    if (list.size() < cap && std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(value);
}

}  // namespace

FluxScorer::FluxScorer(const ScoringConfig& config, const GeoDatabase& geo)
    : config_(config),
      geo_(geo),
      per_shard_limit_(std::max<std::size_t>(1, config.max_domains / shard_count)) {
    for (std::size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

FluxScorer::Shard& FluxScorer::shard_for(const std::string& domain) {
    return *shards_[std::hash<std::string>{}(domain) % shard_count];
}

FluxScorer::DomainState& FluxScorer::touch(Shard& shard, const std::string& domain,
                                           std::int64_t now) {
    if (auto it = shard.index.find(domain); it != shard.index.end()) {
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        return it->second->second;
    }
    if (shard.lru.size() >= per_shard_limit_) {
        shard.index.erase(shard.lru.back().first);
        shard.lru.pop_back();
    }
    shard.lru.emplace_front(domain, DomainState{});
    shard.index.emplace(domain, shard.lru.begin());
    DomainState& state = shard.lru.front().second;
    state.first_seen = now;
    return state;
}

void FluxScorer::add_addresses(DomainState& state, const Observation& obs) {
    const std::int64_t horizon = obs.time - static_cast<std::int64_t>(config_.window);
    std::erase_if(state.addresses, [&](const AddressEntry& e) { return e.last_seen < horizon; });
    for (const auto& answer : obs.addresses) {
        auto known = std::find_if(state.addresses.begin(), state.addresses.end(),
                                  [&](const AddressEntry& e) { return e.address == answer.address; });
        if (known != state.addresses.end()) {
            known->last_seen = obs.time;
            continue;
        }
        AddressEntry entry{answer.address, geo_.lookup(answer.address), obs.time};
        if (state.addresses.size() < config_.max_addresses_per_domain) {
            state.addresses.push_back(entry);
        } else {
            // Full: the address seen longest ago makes room.
            *std::min_element(state.addresses.begin(), state.addresses.end(),
                              [](const AddressEntry& a, const AddressEntry& b) {
                                  return a.last_seen < b.last_seen;
                              }) = entry;
        }
    }
}

std::optional<Evidence> FluxScorer::observe(const std::string& domain, const Observation& obs) {
    if (obs.addresses.empty()) return std::nullopt;
    std::uint32_t answer_min_ttl = UINT32_MAX;
    for (const auto& a : obs.addresses) answer_min_ttl = std::min(answer_min_ttl, a.ttl);

    Shard& shard = shard_for(domain);
    std::lock_guard lock(shard.mutex);
    DomainState& state = touch(shard, domain, obs.time);
    state.last_seen = obs.time;
    for (const auto& name : obs.chain) remember(state.names, name, max_names);
    for (const auto& ns : obs.name_servers) remember(state.name_servers, ns.name, max_name_servers);
    if (answer_min_ttl > config_.ttl_ceiling) return std::nullopt;

    ++state.resolutions;
    state.min_ttl = std::min(state.min_ttl, answer_min_ttl);
    add_addresses(state, obs);
    if (state.flagged || state.resolutions < config_.min_resolutions) return std::nullopt;

    auto parts = score_parts(state);
    double score = 0;
    for (const auto& p : parts) score += p.contribution;
    if (score <= config_.threshold) return std::nullopt;
    state.flagged = true;
    return evidence(domain, state, obs, std::move(parts), score);
}

std::vector<ScorePart> FluxScorer::score_parts(const DomainState& state) const {
    std::vector<std::uint32_t> asns;
    std::vector<std::array<char, 2>> countries;
    for (const auto& a : state.addresses) {
        if (a.geo.asn != 0) asns.push_back(a.geo.asn);
        if (a.geo.has_country()) countries.push_back(a.geo.country);
    }
    std::sort(asns.begin(), asns.end());
    std::sort(countries.begin(), countries.end());
    const auto distinct_asns = std::unique(asns.begin(), asns.end()) - asns.begin();
    const auto distinct_countries =
        std::unique(countries.begin(), countries.end()) - countries.begin();
    auto part = [](std::string feature, double value, double weight) {
        return ScorePart{std::move(feature), value, weight, value * weight};
    };
    return {
        part("distinct_addresses", static_cast<double>(state.addresses.size()),
             config_.weight_addresses),
        part("distinct_asns", static_cast<double>(distinct_asns), config_.weight_asns),
        part("distinct_countries", static_cast<double>(distinct_countries),
             config_.weight_countries),
        part("bias", 1.0, config_.score_bias),
    };
}

Evidence FluxScorer::evidence(const std::string& domain, const DomainState& state,
                              const Observation& obs, std::vector<ScorePart> parts,
                              double score) const {
    Evidence e;
    for (const auto& a : state.addresses)
        e.addresses.push_back({a.address.to_string(), a.geo.asn, a.geo.country_code()});
    e.parts = std::move(parts);
    e.score = score;
    e.domain = domain;
    e.trigger_name = obs.qname;
    e.time = obs.time;
    e.first_seen = state.first_seen;
    e.threshold = config_.threshold;
    e.resolutions = state.resolutions;
    e.min_ttl = state.min_ttl;
    e.name_servers = state.name_servers;
    e.names = state.names;
    return e;
}

std::size_t FluxScorer::tracked_domains() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mutex);
        n += s->lru.size();
    }
    return n;
}

void FluxScorer::forget(const std::string& domain) {
    Shard& shard = shard_for(domain);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(domain); it != shard.index.end()) {
        shard.lru.erase(it->second);
        shard.index.erase(it);
    }
}

}  // namespace fluxguard
