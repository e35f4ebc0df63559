#include "flux_scorer.h"

#include <algorithm>
#include <functional>
#include <map>

#include "dns_name.h"

namespace fluxguard {

namespace {

constexpr std::size_t shard_count = 16;
constexpr std::size_t max_names = 16;
constexpr std::size_t max_name_servers = 16;
constexpr std::size_t max_addresses_per_name_server = 16;
constexpr std::size_t max_cname_targets = 32;
constexpr std::size_t max_evidence_addresses = 64;

template <typename T>
void remember(std::vector<T>& list, const T& value, std::size_t cap) {
    if (list.size() < cap && std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(value);
}

template <typename T>
std::size_t count_distinct(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    return static_cast<std::size_t>(std::unique(values.begin(), values.end()) - values.begin());
}

// Gini-Simpson index of the known countries: 1 - sum(p_c^2). No known
// country at all gives 1, so missing geo data never hides ASN diversity.
template <typename Entries>
double geo_spread(const Entries& entries) {
    std::map<std::array<char, 2>, std::size_t> counts;
    std::size_t known = 0;
    for (const auto& e : entries)
        if (e.geo.has_country()) {
            ++counts[e.geo.country];
            ++known;
        }
    if (known == 0) return 1.0;
    double sum = 0;
    for (const auto& [_, n] : counts) {
        const double p = static_cast<double>(n) / static_cast<double>(known);
        sum += p * p;
    }
    return 1.0 - sum;
}

std::uint64_t set_hash(std::vector<std::uint64_t> parts) {
    std::sort(parts.begin(), parts.end());
    std::uint64_t h = 1469598103934665603ull;
    for (auto p : parts) h = (h ^ p) * 1099511628211ull;
    return h;
}

}  // namespace

FluxScorer::FluxScorer(const ScoringConfig& config, const GeoDatabase& geo)
    : config_(config),
      geo_(geo),
      pools_(config.pool_ttl, config.max_pool_entries) {
    for (std::size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

FluxScorer::Shard& FluxScorer::shard_for(const std::string& domain) {
    return *shards_[std::hash<std::string>{}(domain) % shard_count];
}

void FluxScorer::evict_one(Shard& locked) {
    auto pop = [this](Shard& shard) {
        shard.index.erase(shard.lru.back().first);
        shard.lru.pop_back();
        tracked_.fetch_sub(1, std::memory_order_relaxed);
    };
    if (!locked.lru.empty()) return pop(locked);
    // This shard is empty: take from another one whose lock is free now
    // (try_lock, so two threads evicting for each other cannot deadlock).
    for (auto& other : shards_) {
        if (other.get() == &locked) continue;
        std::unique_lock lock(other->mutex, std::try_to_lock);
        if (lock.owns_lock() && !other->lru.empty()) return pop(*other);
    }
}

FluxScorer::DomainState& FluxScorer::touch(Shard& shard, const std::string& domain,
                                           std::int64_t now) {
    if (auto it = shard.index.find(domain); it != shard.index.end()) {
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        return it->second->second;
    }
    // The cap is global; the domain evicted to make room is the least
    // recently seen of this shard (a sharded LRU: 16 locks, not one).
    if (tracked_.load(std::memory_order_relaxed) >= config_.max_domains) evict_one(shard);
    shard.lru.emplace_front(domain, DomainState{});
    tracked_.fetch_add(1, std::memory_order_relaxed);
    shard.index.emplace(domain, shard.lru.begin());
    DomainState& state = shard.lru.front().second;
    state.first_seen = now;
    return state;
}

bool FluxScorer::add_address(std::vector<AddressEntry>& list, const IpAddress& address,
                             std::int64_t now, std::size_t cap) const {
    auto known = std::find_if(list.begin(), list.end(),
                              [&](const AddressEntry& e) { return e.address == address; });
    if (known != list.end()) {
        known->last_seen = now;
        return false;
    }
    AddressEntry entry{address, geo_.lookup(address), now, now};
    if (list.size() < cap) {
        list.push_back(entry);
        return true;
    }
    // Full: the address seen longest ago makes room.
    *std::min_element(list.begin(), list.end(), [](const AddressEntry& a, const AddressEntry& b) {
        return a.last_seen < b.last_seen;
    }) = entry;
    return true;
}

void FluxScorer::update(const std::string& domain, DomainState& state, const Observation& obs,
                        std::uint32_t answer_ttl) {
    const std::int64_t now = obs.time;
    const std::int64_t horizon = now - static_cast<std::int64_t>(config_.window);
    std::erase_if(state.addresses, [&](const AddressEntry& e) { return e.last_seen < horizon; });
    std::erase_if(state.name_servers,
                  [&](const NameServerEntry& e) { return e.last_seen < horizon; });

    // ASNs of the previous answer, to tell a rotation across networks from
    // one inside a provider.
    thread_local std::vector<std::uint32_t> previous_asns, answer_asns;
    previous_asns.clear();
    answer_asns.clear();
    for (const auto& e : state.addresses)
        if (e.last_seen == state.last_answer_time && e.geo.asn != 0) previous_asns.push_back(e.geo.asn);

    std::size_t fresh = 0;
    std::vector<std::uint64_t> answer_parts;
    for (const auto& answer : obs.addresses) {
        if (add_address(state.addresses, answer.address, now, config_.max_addresses_per_domain))
            ++fresh;
        answer_parts.push_back(std::hash<IpAddress>{}(answer.address));
    }
    for (const auto& e : state.addresses)
        if (e.last_seen == now && e.geo.asn != 0) answer_asns.push_back(e.geo.asn);
    const std::uint64_t answer_hash = set_hash(std::move(answer_parts));
    if (state.resolutions > 0 && answer_hash != state.last_answer_hash) {
        ++state.answer_changes;
        const bool shares_network = std::any_of(answer_asns.begin(), answer_asns.end(), [&](std::uint32_t a) {
            return std::find(previous_asns.begin(), previous_asns.end(), a) != previous_asns.end();
        });
        if (!shares_network && !answer_asns.empty() && !previous_asns.empty())
            ++state.cross_network_changes;
    }
    state.last_answer_time = now;
    state.last_answer_hash = answer_hash;
    state.novelty_sum += static_cast<double>(fresh) / static_cast<double>(obs.addresses.size());
    state.max_records = static_cast<std::uint16_t>(
        std::max<std::size_t>(state.max_records, std::min<std::size_t>(obs.addresses.size(), 65535)));
    state.recent_ttls[state.resolutions % state.recent_ttls.size()] = answer_ttl;
    state.recent_ttl_count = static_cast<std::uint8_t>(
        std::min<std::size_t>(state.recent_ttl_count + 1u, state.recent_ttls.size()));
    state.min_ttl = std::min(state.min_ttl, answer_ttl);
    ++state.resolutions;

    // The delegation belongs to the queried name's zone: when a CNAME chain
    // leads into another domain (a customer into its CDN), those name
    // servers say nothing about the domain that owns the addresses.
    if (!obs.name_servers.empty() && is_at_or_below(obs.qname, domain)) {
        std::vector<std::uint64_t> ns_parts;
        for (const auto& ns : obs.name_servers) {
            ns_parts.push_back(std::hash<std::string>{}(ns.name));
            auto entry = std::find_if(state.name_servers.begin(), state.name_servers.end(),
                                      [&](const NameServerEntry& e) { return e.name == ns.name; });
            if (entry == state.name_servers.end()) {
                if (state.name_servers.size() >= max_name_servers) continue;
                state.name_servers.push_back({ns.name, now, {}});
                entry = state.name_servers.end() - 1;
            }
            entry->last_seen = now;
            for (const auto& address : ns.addresses)
                add_address(entry->addresses, address, now, max_addresses_per_name_server);
        }
        const std::uint64_t ns_hash = set_hash(std::move(ns_parts));
        if (state.last_ns_hash != 0 && ns_hash != state.last_ns_hash) ++state.ns_changes;
        state.last_ns_hash = ns_hash;
    }
    for (std::size_t i = 1; i < obs.chain.size(); ++i)
        remember(state.cname_targets, std::hash<std::string>{}(obs.chain[i]), max_cname_targets);
}

FluxScorer::PoolMatch FluxScorer::match_pools(const Observation& obs) const {
    PoolMatch match;
    if (pools_.size() == 0) return match;
    std::vector<IpAddress> answer;
    for (const auto& a : obs.addresses) answer.push_back(a.address);
    match.address_hits = pools_.address_hits(answer, obs.time);
    match.address_share = answer.empty() ? 0.0
                                         : static_cast<double>(match.address_hits) /
                                               static_cast<double>(answer.size());
    for (const auto& ns : obs.name_servers) {
        match.name_server = match.name_server || pools_.has_name_server(ns.name, obs.time) ||
                            pools_.address_hits(ns.addresses, obs.time) > 0;
    }
    return match;
}

FluxScorer::Features FluxScorer::features(const DomainState& state, const PoolMatch& pool) const {
    // Scratch space reused per thread: this runs on every scored resolution.
    thread_local std::vector<std::uint32_t> asns, ns_asns;
    thread_local std::vector<std::array<char, 2>> countries;
    thread_local std::vector<IpAddress> prefixes;
    thread_local std::vector<AddressEntry> ns_addresses;
    asns.clear();
    ns_asns.clear();
    countries.clear();
    prefixes.clear();
    ns_addresses.clear();
    for (const auto& a : state.addresses) {
        if (a.geo.asn != 0) asns.push_back(a.geo.asn);
        if (a.geo.has_country()) countries.push_back(a.geo.country);
        prefixes.push_back(a.address.network_prefix());
    }
    for (const auto& ns : state.name_servers)
        for (const auto& a : ns.addresses)
            if (std::none_of(ns_addresses.begin(), ns_addresses.end(),
                             [&](const AddressEntry& e) { return e.address == a.address; }))
                ns_addresses.push_back(a);
    for (const auto& a : ns_addresses)
        if (a.geo.asn != 0) ns_asns.push_back(a.geo.asn);
    const auto n = [](std::size_t v) { return static_cast<double>(v); };
    Features f;
    f.addresses = n(state.addresses.size());
    f.asns = n(count_distinct(asns));
    f.countries = n(count_distinct(countries));
    f.prefixes = n(count_distinct(prefixes));
    f.ns_addresses = n(ns_addresses.size());
    f.ns_asns = n(count_distinct(ns_asns));
    f.ns_changes = n(state.ns_changes);
    f.pool_share = pool.address_share;
    f.ns_in_pool = pool.name_server ? 1.0 : 0.0;
    f.spread = geo_spread(state.addresses);
    // The Zeek ports of the Holz score scale it by nASN/nA: many addresses
    // in few networks (CDNs, clouds, big sites) are not agents.
    f.network_ratio = state.addresses.empty() ? 0.0 : f.asns / f.addresses;
    f.cross_changes = n(state.cross_network_changes);
    f.ns_spread = geo_spread(ns_addresses);
    return f;
}

template <typename Visit>
void FluxScorer::for_each_part(const Features& f, Visit&& visit) const {
    const double diversity = f.spread * f.network_ratio;
    visit("distinct_addresses", f.addresses, config_.weight_addresses, diversity);
    visit("distinct_asns", f.asns, config_.weight_asns, diversity);
    visit("distinct_countries", f.countries, config_.weight_countries, diversity);
    visit("distinct_prefixes", f.prefixes, config_.weight_prefixes, diversity);
    visit("cross_network_changes", f.cross_changes, config_.weight_cross_changes, diversity);
    visit("ns_distinct_addresses", f.ns_addresses, config_.weight_ns_addresses, f.ns_spread);
    visit("ns_distinct_asns", f.ns_asns, config_.weight_ns_asns, f.ns_spread);
    visit("ns_set_changes", f.ns_changes, config_.weight_ns_changes, 1.0);
    visit("pool_share", f.pool_share, config_.weight_pool, 1.0);
    visit("ns_in_pool", f.ns_in_pool, config_.weight_pool, 1.0);
    visit("bias", 1.0, config_.score_bias, 1.0);
}

double FluxScorer::score(const Features& f) const {
    double total = 0;
    for_each_part(f, [&](const char*, double value, double weight, double factor) {
        total += value * weight * factor;
    });
    return total;
}

void FluxScorer::explain(const DomainState& state, const PoolMatch& pool, const Features& f,
                         Evidence& out) const {
    for_each_part(f, [&](const char* name, double value, double weight, double factor) {
        out.parts.push_back({name, value, weight, factor, value * weight * factor});
    });
    out.score = score(f);
    double lifetime_sum = 0;
    for (const auto& a : state.addresses) lifetime_sum += static_cast<double>(a.last_seen - a.first_seen);
    std::vector<std::uint32_t> ttls(state.recent_ttls.begin(),
                                    state.recent_ttls.begin() + state.recent_ttl_count);
    std::sort(ttls.begin(), ttls.end());
    const auto n = [](std::size_t v) { return static_cast<double>(v); };
    const double resolutions = n(std::max<std::uint32_t>(state.resolutions, 1));
    out.features = {
        {"geo_spread", f.spread},
        {"asn_per_address", f.network_ratio},
        {"ns_geo_spread", f.ns_spread},
        {"resolutions", n(state.resolutions)},
        {"min_ttl", n(state.min_ttl == UINT32_MAX ? 0 : state.min_ttl)},
        {"median_ttl", ttls.empty() ? 0.0 : n(ttls[ttls.size() / 2])},
        {"answer_change_rate",
         state.resolutions > 1 ? n(state.answer_changes) / n(state.resolutions - 1) : 0.0},
        {"new_address_share", state.novelty_sum / resolutions},
        {"mean_address_lifetime",
         state.addresses.empty() ? 0.0 : lifetime_sum / n(state.addresses.size())},
        {"max_records_per_answer", n(state.max_records)},
        {"age", n(static_cast<std::size_t>(std::max<std::int64_t>(0, state.last_seen - state.first_seen)))},
        {"distinct_name_servers", n(state.name_servers.size())},
        {"cname_targets", n(state.cname_targets.size())},
        {"pool_hits", n(pool.address_hits)},
    };
}

Evidence FluxScorer::evidence(const std::string& domain, const DomainState& state,
                              const Observation& obs, const PoolMatch& pool,
                              const Features& f) const {
    Evidence e;
    explain(state, pool, f, e);
    for (const auto& a : state.addresses) {
        if (e.addresses.size() >= max_evidence_addresses) break;
        e.addresses.push_back({a.address.to_string(), a.geo.asn, a.geo.country_code()});
    }
    for (const auto& ns : state.name_servers) e.name_servers.push_back(ns.name);
    e.domain = domain;
    e.trigger_name = obs.qname;
    e.time = obs.time;
    e.first_seen = state.first_seen;
    e.threshold = config_.threshold;
    e.resolutions = state.resolutions;
    e.min_ttl = state.min_ttl == UINT32_MAX ? 0 : state.min_ttl;
    e.names = state.names;
    return e;
}

void FluxScorer::join_pools(const std::string& domain, const DomainState& state,
                            std::int64_t now) {
    for (const auto& a : state.addresses) pools_.add_address(a.address, now);
    // A name server joins the pool only when it is itself part of the flux:
    // inside the flagged domain, or fluxing across networks. Flux domains
    // often sit at ordinary DNS hosters, whose other customers must not
    // inherit the verdict.
    for (const auto& ns : state.name_servers) {
        std::vector<std::uint32_t> asns;
        for (const auto& a : ns.addresses)
            if (a.geo.asn != 0) asns.push_back(a.geo.asn);
        if (!is_at_or_below(ns.name, domain) && count_distinct(asns) < 3) continue;
        pools_.add_name_server(ns.name, now);
        for (const auto& a : ns.addresses) pools_.add_address(a.address, now);
    }
}

std::optional<Evidence> FluxScorer::observe(const std::string& domain, const Observation& obs) {
    if (obs.addresses.empty()) return std::nullopt;
    std::uint32_t answer_ttl = UINT32_MAX;
    for (const auto& a : obs.addresses) answer_ttl = std::min(answer_ttl, a.ttl);
    const PoolMatch pool = answer_ttl <= config_.ttl_ceiling ? match_pools(obs) : PoolMatch{};

    std::optional<Evidence> flagged;
    {
        Shard& shard = shard_for(domain);
        std::lock_guard lock(shard.mutex);
        DomainState& state = touch(shard, domain, obs.time);
        state.last_seen = obs.time;
        for (const auto& name : obs.chain) remember(state.names, name, max_names);
        if (answer_ttl > config_.ttl_ceiling) return std::nullopt;
        update(domain, state, obs, answer_ttl);
        if (state.cleared) return std::nullopt;
        if (state.flagged) {
            // A flagged domain keeps feeding the pools: the hosts it moves
            // to are the ones its family's next domains will use.
            join_pools(domain, state, obs.time);
            return std::nullopt;
        }
        if (state.resolutions < config_.min_resolutions && !pool.decisive(obs.addresses.size())) return std::nullopt;
        const Features f = features(state, pool);
        if (score(f) <= config_.threshold) return std::nullopt;
        state.flagged = true;
        join_pools(domain, state, obs.time);
        flagged = evidence(domain, state, obs, pool, f);
    }
    return flagged;
}

std::optional<Evidence> FluxScorer::judge_fleet(const FleetView& view) {
    if (view.resolutions < config_.min_resolutions) return std::nullopt;
    Shard& shard = shard_for(view.domain);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(view.domain);
    // Only domains this instance has resolved itself: their names are what
    // a block has to purge here, and their state gives the geo spread.
    if (it == shard.index.end()) return std::nullopt;
    DomainState& state = it->second->second;
    if (state.flagged || state.cleared) return std::nullopt;
    Features f = features(state, PoolMatch{});
    const auto more = [](double& local, std::uint32_t fleet) {
        local = std::max(local, static_cast<double>(fleet));
    };
    more(f.addresses, view.distinct_addresses);
    more(f.asns, view.distinct_asns);
    more(f.countries, view.distinct_countries);
    more(f.prefixes, view.distinct_prefixes);
    // The fleet keeps which countries, not how many addresses each: when the
    // fleet saw more countries than we did, assume them evenly spread.
    if (view.distinct_countries > 0 && f.countries > static_cast<double>(
            std::count_if(state.addresses.begin(), state.addresses.end(),
                          [](const AddressEntry& a) { return a.geo.has_country(); })))
        f.spread = 1.0 - 1.0 / static_cast<double>(view.distinct_countries);
    if (score(f) <= config_.threshold) return std::nullopt;
    state.flagged = true;
    join_pools(view.domain, state, view.first_seen);
    Observation trigger;
    trigger.time = state.last_seen;
    trigger.qname = view.domain;
    Evidence e = evidence(view.domain, state, trigger, PoolMatch{}, f);
    e.resolutions = view.resolutions;
    e.first_seen = std::min(e.first_seen, view.first_seen);
    e.features.emplace_back("fleet_resolutions", static_cast<double>(view.resolutions));
    return e;
}

std::vector<std::string> FluxScorer::mark_blocked(const std::string& domain, std::int64_t now) {
    Shard& shard = shard_for(domain);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(domain);
    if (it == shard.index.end()) return {};
    DomainState& state = it->second->second;
    if (!state.flagged) {
        state.flagged = true;
        join_pools(domain, state, now);
    }
    return state.names;
}

std::size_t FluxScorer::tracked_domains() const {
    return tracked_.load(std::memory_order_relaxed);
}

void FluxScorer::forget(const std::string& domain) {
    Shard& shard = shard_for(domain);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(domain);
    if (it == shard.index.end()) {
        touch(shard, domain, 0).cleared = true;
        return;
    }
    DomainState& state = it->second->second;
    DomainState fresh;
    fresh.first_seen = state.last_seen;
    fresh.last_seen = state.last_seen;
    fresh.names = std::move(state.names);
    fresh.cleared = true;
    state = std::move(fresh);
}

}  // namespace fluxguard
