#include "flux_scorer.h"

#include <algorithm>
#include <functional>
#include <map>

#include "dns_name.h"
#include "heap_bytes.h"

namespace fluxguard {

namespace {

constexpr std::size_t shard_count = 16;
constexpr std::size_t max_names = 16;
constexpr std::size_t max_name_servers = 16;
constexpr std::size_t max_addresses_per_name_server = 16;
constexpr std::size_t max_cname_targets = 32;
constexpr std::size_t max_evidence_addresses = 64;

// Adds `value` unless the list holds it or is full; true when added.
template <typename List, typename T>
bool remember(List& list, const T& value, std::size_t cap) {
    if (list.size() >= cap || std::find(list.begin(), list.end(), value) != list.end())
        return false;
    list.push_back(value);
    return true;
}

template <typename T>
std::size_t count_distinct(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    return static_cast<std::size_t>(std::unique(values.begin(), values.end()) - values.begin());
}

std::uint32_t address_key(const IpAddress& address) {
    const std::uint64_t h = std::hash<IpAddress>{}(address);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::uint64_t set_hash(std::vector<std::uint64_t>& parts) {
    std::sort(parts.begin(), parts.end());
    std::uint64_t h = 1469598103934665603ull;
    for (auto p : parts) h = (h ^ p) * 1099511628211ull;
    return h;
}

bool share_network(const std::array<std::uint32_t, 4>& a, const std::array<std::uint32_t, 4>& b) {
    for (auto x : a)
        if (x != 0 && std::find(b.begin(), b.end(), x) != b.end()) return true;
    return false;
}

bool has_network(const std::array<std::uint32_t, 4>& asns) { return asns[0] != 0; }

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

std::size_t FluxScorer::state_bytes(const DomainState& s) {
    // The state, its place in the shard's vector and its index slot (with
    // its control byte).
    std::size_t n = sizeof(DomainState) + sizeof(void*) +
                    sizeof(std::pair<std::string_view, DomainState*>) + 1 +
                    heap_bytes(s.domain);
    n += heap_bytes(s.addresses) + heap_bytes(s.address_keys);
    n += s.asns.heap_bytes() + s.countries.heap_bytes() + s.continents.heap_bytes() +
         s.prefixes.heap_bytes();
    n += s.name_servers.capacity() * sizeof(NameServerEntry);
    for (const auto& ns : s.name_servers)
        n += heap_bytes(ns.name) + ns.addresses.capacity() * sizeof(AddressEntry);
    n += heap_bytes(s.rotations);
    n += s.cname_targets.capacity() * sizeof(std::uint64_t);
    n += heap_bytes(s.names) + s.names_heap_bytes;
    return n;
}

void FluxScorer::account(Shard& shard, DomainState& state) {
    const std::size_t now = state_bytes(state);
    shard.bytes = shard.bytes - state.accounted_bytes + now;
    state.accounted_bytes = now;
}

std::size_t FluxScorer::memory_bytes() const {
    std::size_t n = pools_.memory_bytes();
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        n += shard->bytes;
    }
    return n;
}

FluxScorer::DomainState* FluxScorer::find(Shard& locked, std::string_view domain) {
    auto it = locked.index.find(domain);
    return it == locked.index.end() ? nullptr : it->second;
}

std::size_t FluxScorer::next_victim(Shard& locked) {
    // One turn at most: the hand unmarks every state it passes.
    for (;; ++locked.hand) {
        if (locked.hand >= locked.states.size()) locked.hand = 0;
        DomainState& state = *locked.states[locked.hand];
        if (!state.recent) {
            locked.bytes -= state.accounted_bytes;
            locked.index.erase(state.domain);
            return locked.hand++;
        }
        state.recent = false;
    }
}

void FluxScorer::evict_elsewhere(const Shard& locked) {
    // try_lock, so two threads evicting for each other cannot deadlock.
    for (auto& other : shards_) {
        if (other.get() == &locked) continue;
        std::unique_lock lock(other->mutex, std::try_to_lock);
        if (!lock.owns_lock() || other->states.empty()) continue;
        auto& states = other->states;
        const std::size_t at = next_victim(*other);
        states[at] = std::move(states.back());
        states.pop_back();
        tracked_.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
}

FluxScorer::DomainState& FluxScorer::touch(Shard& shard, const std::string& domain,
                                           std::int64_t now) {
    if (DomainState* known = find(shard, domain)) {
        known->recent = true;
        return *known;
    }
    // The cap is global. The victim is this shard's when it has any (its
    // state is reused in place; a sharded cache: 16 locks, not one), else
    // another shard's.
    DomainState* state = nullptr;
    if (tracked_.load(std::memory_order_relaxed) >= config_.max_domains) {
        if (!shard.states.empty()) {
            state = shard.states[next_victim(shard)].get();
            *state = DomainState{};
        } else {
            evict_elsewhere(shard);
        }
    }
    if (!state) {
        state = shard.states.emplace_back(std::make_unique<DomainState>()).get();
        tracked_.fetch_add(1, std::memory_order_relaxed);
    }
    state->domain = domain;
    state->first_seen = now;
    state->oldest_address_seen = now;
    shard.index.emplace(state->domain, state);
    account(shard, *state);
    return *state;
}

void FluxScorer::count(DomainState& state, const AddressEntry& entry, int delta) const {
    const auto apply = [delta](auto& tally, const auto& value) {
        if (delta > 0) tally.add(value);
        else tally.remove(value);
    };
    if (entry.geo.asn != 0) apply(state.asns, entry.geo.asn);
    if (entry.geo.has_country()) apply(state.countries, entry.geo.country);
    if (entry.geo.has_continent()) apply(state.continents, entry.geo.continent);
    if (entry.address.family() == IpAddress::Family::v6)
        state.ipv6_addresses = static_cast<std::uint16_t>(state.ipv6_addresses + delta);
    // Weight 0 by default: then counted only for the evidence (evidence()).
    if (config_.weight_prefixes != 0) apply(state.prefixes, entry.address.network_prefix());
}

void FluxScorer::expire(DomainState& state, std::int64_t now) const {
    const std::int64_t horizon = now - static_cast<std::int64_t>(config_.window);
    if (state.oldest_address_seen >= horizon) return;
    std::int64_t oldest = now;
    // Addresses and their keys compacted in step.
    auto& addresses = state.addresses;
    auto& keys = state.address_keys;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (addresses[i].last_seen < horizon) {
            count(state, addresses[i], -1);
            continue;
        }
        oldest = std::min(oldest, addresses[i].last_seen);
        if (kept != i) {
            addresses[kept] = addresses[i];
            keys[kept] = keys[i];
        }
        ++kept;
    }
    addresses.resize(kept);
    keys.resize(kept);
    const auto before = state.name_servers.size();
    std::erase_if(state.name_servers, [&](const NameServerEntry& e) {
        if (e.last_seen >= horizon) oldest = std::min(oldest, e.last_seen);
        return e.last_seen < horizon;
    });
    if (state.name_servers.size() != before) summarise_name_servers(state);
    auto& rotations = state.rotations;
    rotations.erase(std::remove_if(rotations.begin(), rotations.end(),
                                   [&](const NameRotation& r) { return r.last_seen < horizon; }),
                    rotations.end());
    state.oldest_address_seen = oldest;
    if (!state.addresses.empty()) return;
    // Idle for a whole window: its changes are history too.
    state.answer_changes = state.cross_network_changes = 0;
    state.changed_answer_addresses = state.novel_answer_addresses = 0;
    state.ns_changes = state.ns_glue_changes = state.cname_target_changes = 0;
}

FluxScorer::AddressEntry& FluxScorer::add_address(DomainState& state, const IpAddress& address,
                                                  std::int64_t now, bool& added) const {
    auto& list = state.addresses;
    auto& keys = state.address_keys;
    const std::uint32_t key = address_key(address);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] != key || list[i].address != address) continue;
        added = false;
        list[i].last_seen = now;
        return list[i];
    }
    added = true;
    const AddressEntry entry{address, geo_.lookup(address), now, now};
    if (list.size() < config_.max_addresses_per_domain) {
        list.push_back(entry);
        keys.push_back(key);
        count(state, entry, +1);
        return list.back();
    }
    // Full: the address seen longest ago makes room.
    const auto victim = std::min_element(list.begin(), list.end(),
                                         [](const AddressEntry& a, const AddressEntry& b) {
                                             return a.last_seen < b.last_seen;
                                         });
    count(state, *victim, -1);
    *victim = entry;
    keys[static_cast<std::size_t>(victim - list.begin())] = key;
    count(state, *victim, +1);
    return *victim;
}

void FluxScorer::rotate(DomainState& state, const Observation& obs, std::uint64_t answer_hash,
                        const std::array<std::uint32_t, 4>& answer_asns, std::size_t fresh) const {
    const std::uint64_t key = std::hash<std::string>{}(obs.qname) * 31 + obs.qtype;
    auto it = std::find_if(state.rotations.begin(), state.rotations.end(),
                           [&](const NameRotation& r) { return r.key == key; });
    // A change: the name's answer differs from its last one, or a name new
    // to the domain brings addresses new to the domain (a flux domain that
    // hands every subdomain fresh hosts). Its networks are compared with
    // the name's last answer, or the domain's latest one for a new name.
    // A name that now gives the answer another name gave last shows a
    // rotation already counted (names of one wildcard share its answer).
    const bool known_name = it != state.rotations.end();
    const bool changed = known_name ? it->answer_hash != answer_hash &&
                                          state.rotations.back().answer_hash != answer_hash
                                    : !state.rotations.empty() && fresh > 0;
    if (changed) {
        const auto& before = known_name ? it->asns : state.rotations.back().asns;
        ++state.answer_changes;
        state.changed_answer_addresses += static_cast<std::uint32_t>(obs.addresses.size());
        state.novel_answer_addresses += static_cast<std::uint32_t>(fresh);
        if (has_network(before) && has_network(answer_asns) && !share_network(before, answer_asns))
            ++state.cross_network_changes;
    }
    if (!known_name) {
        // Full: the name answered least recently gives way, the first
        // (every update moves its name to the end).
        it = state.rotations.size() < max_names
                 ? state.rotations.insert(state.rotations.end(), NameRotation{})
                 : state.rotations.begin();
        it->key = key;
    }
    // CNAME targets that rotate: the alias moving from one target to another.
    const std::uint64_t target =
        obs.chain.size() > 1 ? std::hash<std::string>{}(obs.chain.back()) : 0;
    if (known_name && it->cname_target != target) ++state.cname_target_changes;
    it->cname_target = target;
    it->answer_hash = answer_hash;
    it->asns = answer_asns;
    it->last_seen = obs.time;
    // The most recent answer last: a new name compares with it.
    std::rotate(it, it + 1, state.rotations.end());
}

void FluxScorer::summarise_name_servers(DomainState& state) const {
    thread_local std::vector<const AddressEntry*> glue;
    glue.clear();
    for (const auto& ns : state.name_servers)
        for (const auto& a : ns.addresses)
            if (std::none_of(glue.begin(), glue.end(),
                             [&](const AddressEntry* e) { return e->address == a.address; }))
                glue.push_back(&a);
    Tally<std::uint32_t> asns;
    Tally<std::array<char, 2>> countries;
    for (const auto* a : glue) {
        if (a->geo.asn != 0) asns.add(a->geo.asn);
        if (a->geo.has_country()) countries.add(a->geo.country);
    }
    state.ns_summary.addresses = static_cast<std::uint16_t>(glue.size());
    state.ns_summary.asns = static_cast<std::uint16_t>(asns.distinct());
    state.ns_summary.spread = countries.spread();
}

void FluxScorer::update_name_servers(const std::string& domain, DomainState& state,
                                     const Observation& obs) const {
    // The delegation belongs to the queried name's zone: when a CNAME chain
    // leads into another domain (a customer into its CDN), those name
    // servers say nothing about the domain that owns the addresses.
    if (obs.name_servers.empty() || !is_at_or_below(obs.qname, domain)) return;
    const std::int64_t now = obs.time;
    bool grew = false, rotated = false;
    thread_local std::vector<std::uint64_t> ns_parts;
    ns_parts.clear();
    for (const auto& ns : obs.name_servers) {
        ns_parts.push_back(std::hash<std::string>{}(ns.name));
        state.ns_min_ttl = std::min(state.ns_min_ttl, ns.ttl);
        auto entry = std::find_if(state.name_servers.begin(), state.name_servers.end(),
                                  [&](const NameServerEntry& e) { return e.name == ns.name; });
        if (entry == state.name_servers.end()) {
            if (state.name_servers.size() >= max_name_servers) continue;
            state.name_servers.push_back({ns.name, now, {}});
            entry = state.name_servers.end() - 1;
            grew = true;
        }
        entry->last_seen = now;
        for (const auto& address : ns.addresses) {
            auto& glue = entry->addresses;
            auto known = std::find_if(glue.begin(), glue.end(),
                                      [&](const AddressEntry& e) { return e.address == address; });
            if (known != glue.end()) {
                known->last_seen = now;
                continue;
            }
            // A host that had addresses and shows a new one: its glue moved.
            if (!glue.empty()) {
                ++state.ns_glue_changes;
                rotated = true;
            }
            const AddressEntry added{address, geo_.lookup(address), now, now};
            if (glue.size() < max_addresses_per_name_server) {
                glue.push_back(added);
            } else {
                *std::min_element(glue.begin(), glue.end(),
                                  [](const AddressEntry& a, const AddressEntry& b) {
                                      return a.last_seen < b.last_seen;
                                  }) = added;
            }
            grew = true;
        }
    }
    const std::uint64_t ns_hash = set_hash(ns_parts);
    if (state.last_ns_hash != 0 && ns_hash != state.last_ns_hash) {
        ++state.ns_changes;
        rotated = true;
    }
    state.last_ns_hash = ns_hash;
    if (rotated) state.ns_rotated_at = now;
    if (grew) summarise_name_servers(state);
}

void FluxScorer::update(const std::string& domain, DomainState& state, const Observation& obs,
                        std::uint32_t answer_ttl, std::vector<Sighting>* sightings) {
    const std::int64_t now = obs.time;
    expire(state, now);

    std::size_t fresh = 0;
    std::array<std::uint32_t, 4> answer_asns{};
    thread_local std::vector<std::uint64_t> answer_parts;
    answer_parts.clear();
    for (const auto& answer : obs.addresses) {
        bool added = false;
        const AddressEntry& entry = add_address(state, answer.address, now, added);
        if (added) ++fresh;
        const std::uint32_t asn = entry.geo.asn;
        if (asn != 0 && std::find(answer_asns.begin(), answer_asns.end(), asn) == answer_asns.end())
            if (auto slot = std::find(answer_asns.begin(), answer_asns.end(), 0u);
                slot != answer_asns.end())
                *slot = asn;
        if (sightings)
            sightings->push_back({answer.address, asn, entry.geo.country, entry.geo.continent});
        answer_parts.push_back(std::hash<IpAddress>{}(answer.address));
    }
    rotate(state, obs, set_hash(answer_parts), answer_asns, fresh);
    state.max_records = static_cast<std::uint16_t>(
        std::max<std::size_t>(state.max_records, std::min<std::size_t>(obs.addresses.size(), 65535)));
    state.recent_ttls[state.resolutions % state.recent_ttls.size()] = answer_ttl;
    state.recent_ttl_count = static_cast<std::uint8_t>(
        std::min<std::size_t>(state.recent_ttl_count + 1u, state.recent_ttls.size()));
    state.min_ttl = std::min(state.min_ttl, answer_ttl);
    ++state.resolutions;

    update_name_servers(domain, state, obs);
    for (std::size_t i = 1; i < obs.chain.size(); ++i)
        remember(state.cname_targets, std::hash<std::string>{}(obs.chain[i]), max_cname_targets);
}

FluxScorer::PoolMatch FluxScorer::match_pools(const Observation& obs) const {
    PoolMatch match;
    if (pools_.size() == 0) return match;
    thread_local std::vector<IpAddress> answer;
    answer.clear();
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
    const auto n = [](std::size_t v) { return static_cast<double>(v); };
    Features f;
    f.addresses = n(state.addresses.size());
    f.asns = n(state.asns.distinct());
    f.countries = n(state.countries.distinct());
    f.continents = n(state.continents.distinct());
    f.small_answers = state.max_records <= max_records_for_continents;
    f.prefixes = n(state.prefixes.distinct());
    f.spread = state.countries.spread();
    // The Zeek ports of the Holz score scale it by nASN/nA: many addresses
    // in few networks (CDNs, clouds, big sites) are not agents. Counted in
    // hosts: a dual-stack host's IPv4 and IPv6 addresses sit in one network,
    // so the larger family stands for the hosts (else every dual-stack flux
    // agent would halve the ratio).
    const double v6 = n(state.ipv6_addresses);
    const double hosts = std::max(f.addresses - v6, v6);
    f.network_ratio = hosts == 0 ? 0.0 : std::min(1.0, f.asns / hosts);
    f.novelty = state.changed_answer_addresses == 0
                    ? 1.0
                    : n(state.novel_answer_addresses) / n(state.changed_answer_addresses);
    f.cross_changes = n(state.cross_network_changes);
    f.ns_addresses = n(state.ns_summary.addresses);
    f.ns_asns = n(state.ns_summary.asns);
    const bool ns_rotating =
        state.ns_rotated_at >= 0 &&
        state.ns_rotated_at >= state.last_seen - static_cast<std::int64_t>(config_.window);
    f.ns_factor = ns_rotating ? state.ns_summary.spread : 0.0;
    f.ns_changes = n(state.ns_changes);
    f.pool_share = pool.address_share;
    f.ns_in_pool = pool.name_server ? 1.0 : 0.0;
    return f;
}

template <typename Visit>
void FluxScorer::for_each_part(const Features& f, Visit&& visit) const {
    const double diversity = f.spread * f.network_ratio * f.novelty;
    visit("distinct_addresses", f.addresses, config_.weight_addresses, diversity);
    visit("distinct_asns", f.asns, config_.weight_asns, diversity);
    visit("distinct_countries", f.countries, config_.weight_countries, diversity);
    const double continents_beyond_two = f.small_answers ? std::max(f.continents, 2.0) - 2 : 0.0;
    visit("continents_beyond_two", continents_beyond_two, config_.weight_continents, diversity);
    visit("distinct_prefixes", f.prefixes, config_.weight_prefixes, diversity);
    visit("cross_network_changes", f.cross_changes, config_.weight_cross_changes, diversity);
    visit("ns_distinct_addresses", f.ns_addresses, config_.weight_ns_addresses, f.ns_factor);
    visit("ns_distinct_asns", f.ns_asns, config_.weight_ns_asns, f.ns_factor);
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
                         std::int64_t now, Evidence& out) const {
    for_each_part(f, [&](const char* name, double value, double weight, double factor) {
        out.parts.push_back({name, value, weight, factor, value * weight * factor});
    });
    out.score = score(f);
    // The last hour beside the window the score counts.
    double lifetime_sum = 0;
    std::vector<std::uint32_t> hour_asns;
    std::vector<std::array<char, 2>> hour_countries;
    std::size_t hour_addresses = 0;
    for (const auto& a : state.addresses) {
        lifetime_sum += static_cast<double>(a.last_seen - a.first_seen);
        if (a.last_seen < now - 3600) continue;
        ++hour_addresses;
        if (a.geo.asn != 0) hour_asns.push_back(a.geo.asn);
        if (a.geo.has_country()) hour_countries.push_back(a.geo.country);
    }
    std::vector<std::uint32_t> ttls(state.recent_ttls.begin(),
                                    state.recent_ttls.begin() + state.recent_ttl_count);
    std::sort(ttls.begin(), ttls.end());
    const auto n = [](std::size_t v) { return static_cast<double>(v); };
    const double resolutions = n(std::max<std::uint32_t>(state.resolutions, 1));
    out.features = {
        {"geo_spread", f.spread},
        {"asn_per_address", f.network_ratio},
        {"novelty", f.novelty},
        {"continents", f.continents},
        {"ns_geo_spread", state.ns_summary.spread},
        {"resolutions", n(state.resolutions)},
        {"min_ttl", n(state.min_ttl == UINT32_MAX ? 0 : state.min_ttl)},
        {"median_ttl", ttls.empty() ? 0.0 : n(ttls[ttls.size() / 2])},
        {"answer_changes", n(state.answer_changes)},
        {"answer_change_rate", state.resolutions > 1 ? n(state.answer_changes) / (resolutions - 1) : 0.0},
        {"mean_address_lifetime",
         state.addresses.empty() ? 0.0 : lifetime_sum / n(state.addresses.size())},
        {"max_records_per_answer", n(state.max_records)},
        {"age", n(static_cast<std::size_t>(std::max<std::int64_t>(0, state.last_seen - state.first_seen)))},
        {"names_followed", n(state.rotations.size())},
        {"distinct_name_servers", n(state.name_servers.size())},
        {"ns_glue_changes", n(state.ns_glue_changes)},
        {"ns_min_ttl", n(state.ns_min_ttl == UINT32_MAX ? 0 : state.ns_min_ttl)},
        {"cname_targets", n(state.cname_targets.size())},
        {"cname_target_changes", n(state.cname_target_changes)},
        {"pool_hits", n(pool.address_hits)},
        {"addresses_last_hour", n(hour_addresses)},
        {"asns_last_hour", n(count_distinct(std::move(hour_asns)))},
        {"countries_last_hour", n(count_distinct(std::move(hour_countries)))},
    };
}

Evidence FluxScorer::evidence(const std::string& domain, const DomainState& state,
                              const Observation& obs, const PoolMatch& pool,
                              const Features& f) const {
    Evidence e;
    Features shown = f;
    if (config_.weight_prefixes == 0) {
        std::vector<IpAddress> prefixes;
        for (const auto& a : state.addresses) prefixes.push_back(a.address.network_prefix());
        shown.prefixes = static_cast<double>(count_distinct(std::move(prefixes)));
    }
    explain(state, pool, shown, obs.time, e);
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
    e.names.assign(state.names.begin(), state.names.end());
    return e;
}

void FluxScorer::join_pools(const std::string& domain, const DomainState& state,
                            std::int64_t now) {
    for (const auto& a : state.addresses) pools_.add_address(a.address, now);
    pool_name_servers(domain, state, now);
}

void FluxScorer::pool_name_servers(const std::string& domain, const DomainState& state,
                                   std::int64_t now) {
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

std::optional<Evidence> FluxScorer::observe(const std::string& domain, const Observation& obs,
                                            std::vector<Sighting>* sightings,
                                            bool* flagged_before) {
    if (obs.addresses.empty()) return std::nullopt;
    std::uint32_t answer_ttl = UINT32_MAX;
    for (const auto& a : obs.addresses) answer_ttl = std::min(answer_ttl, a.ttl);
    const PoolMatch pool = answer_ttl <= config_.ttl_ceiling ? match_pools(obs) : PoolMatch{};

    std::optional<Evidence> flagged;
    {
        Shard& shard = shard_for(domain);
        std::lock_guard lock(shard.mutex);
        DomainState& state = touch(shard, domain, obs.time);
        // Whatever this resolution adds to the state is counted on the way out.
        struct Account {
            Shard& shard;
            DomainState& state;
            ~Account() { account(shard, state); }
        } accounted{shard, state};
        state.last_seen = obs.time;
        for (const auto& name : obs.chain)
            if (remember(state.names, name, max_names)) state.names_heap_bytes += heap_bytes(name);
        if (flagged_before) *flagged_before = state.flagged;
        if (answer_ttl > config_.ttl_ceiling) return std::nullopt;
        update(domain, state, obs, answer_ttl, sightings);
        if (state.cleared) return std::nullopt;
        if (state.flagged) {
            // A flagged domain keeps feeding the pools: the hosts it moves
            // to are the ones its family's next domains will use. Only
            // this answer's: the rest joined when they were answered, and
            // hosts the domain has left expire from the pools in their time.
            for (const auto& a : obs.addresses) pools_.add_address(a.address, obs.time);
            pool_name_servers(domain, state, obs.time);
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
    // Only domains this instance has resolved itself: their names are what
    // a block has to purge here, and their state gives the geo spread.
    DomainState* known = find(shard, view.domain);
    if (!known) return std::nullopt;
    DomainState& state = *known;
    if (state.flagged || state.cleared) return std::nullopt;
    Features f = features(state, PoolMatch{});
    const auto more = [](double& local, std::uint32_t fleet) {
        local = std::max(local, static_cast<double>(fleet));
    };
    more(f.addresses, view.distinct_addresses);
    more(f.asns, view.distinct_asns);
    more(f.countries, view.distinct_countries);
    more(f.continents, view.distinct_continents);
    more(f.prefixes, view.distinct_prefixes);
    // The fleet keeps which countries, not how many addresses each: when the
    // fleet saw more countries than we did, assume them evenly spread.
    if (view.distinct_countries > 0 && f.countries > static_cast<double>(state.countries.total()))
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
    DomainState* known = find(shard, domain);
    if (!known) return {};
    if (!known->flagged) {
        known->flagged = true;
        join_pools(domain, *known, now);
    }
    return {known->names.begin(), known->names.end()};
}

std::size_t FluxScorer::tracked_domains() const {
    return tracked_.load(std::memory_order_relaxed);
}

void FluxScorer::forget(const std::string& domain) {
    Shard& shard = shard_for(domain);
    std::lock_guard lock(shard.mutex);
    DomainState* known = find(shard, domain);
    if (!known) {
        touch(shard, domain, 0).cleared = true;
        return;
    }
    DomainState& state = *known;
    DomainState fresh;
    fresh.domain = std::move(state.domain);  // the index views this string
    fresh.first_seen = state.last_seen;
    fresh.oldest_address_seen = state.last_seen;
    fresh.last_seen = state.last_seen;
    fresh.names = std::move(state.names);
    fresh.names_heap_bytes = state.names_heap_bytes;
    fresh.cleared = true;
    fresh.recent = state.recent;
    fresh.accounted_bytes = state.accounted_bytes;
    state = std::move(fresh);
    account(shard, state);
}

}  // namespace fluxguard
