// Flux score v0, kept per registrable domain.
//
// Baseline: the linear flux-score of Holz et al., "Measuring and Detecting
// Fast-Flux Service Networks" (NDSS 2008):
//     f = 1.32 * nA + 18.54 * nASN - 142.38,   flux when f > 0
// where nA and nASN are the distinct addresses and ASNs seen in the domain's
// answers. Any history spread over 8 or more ASNs crosses it; a single-ASN
// CDN needs about 94 addresses. v0 adds:
//   - distinct countries at half an ASN's weight: flux agents are spread over
//     many countries, a CDN's answers to one resolver mostly are not; a
//     country is weaker evidence than an AS because one AS spans countries;
//   - a TTL gate: answers whose lowest TTL is above ttl-ceiling (30 min, as
//     the Zeek ports of the Holz score do) are not evidence at all;
//   - at least min-resolutions resolutions (Holz compares two lookups);
//   - a sliding window: an address stops counting `window` seconds after it
//     was last seen, so a long-lived round robin does not add up forever.
// Unknown ASNs/countries (no mmdb record) never count as distinct ones.
// The scoring engine issue replaces this with a richer, measured model.
//
// Thread safety: observe() may be called from many threads at once; state is
// split into shards, each behind its own mutex held only for the update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "configuration.h"
#include "evidence.h"
#include "geo.h"
#include "observation.h"

namespace fluxguard {

class FluxScorer {
public:
    FluxScorer(const ScoringConfig& config, const GeoDatabase& geo);

    // Adds one resolution to `domain`'s state. Returns the evidence the first
    // time the domain's score crosses the threshold, nothing otherwise.
    std::optional<Evidence> observe(const std::string& domain, const Observation& obs);

    std::size_t tracked_domains() const;
    // Forgets a domain (an operator unblocked it): it starts from scratch.
    void forget(const std::string& domain);

private:
    struct AddressEntry {
        IpAddress address;
        GeoInfo geo;
        std::int64_t last_seen = 0;
    };
    struct DomainState {
        std::int64_t first_seen = 0;
        std::int64_t last_seen = 0;
        std::uint32_t resolutions = 0;
        std::uint32_t min_ttl = UINT32_MAX;
        bool flagged = false;
        std::vector<AddressEntry> addresses;
        std::vector<std::string> names;
        std::vector<std::string> name_servers;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<std::pair<std::string, DomainState>> lru;  // most recent first
        std::unordered_map<std::string, decltype(lru)::iterator> index;
    };

    Shard& shard_for(const std::string& domain);
    DomainState& touch(Shard& shard, const std::string& domain, std::int64_t now);
    void add_addresses(DomainState& state, const Observation& obs);
    std::vector<ScorePart> score_parts(const DomainState& state) const;
    Evidence evidence(const std::string& domain, const DomainState& state, const Observation& obs,
                      std::vector<ScorePart> parts, double score) const;

    ScoringConfig config_;
    const GeoDatabase& geo_;
    std::size_t per_shard_limit_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace fluxguard
