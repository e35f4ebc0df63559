// The flux score, kept per registrable domain.
//
// Baseline: the linear flux-score of Holz et al., "Measuring and Detecting
// Fast-Flux Service Networks" (NDSS 2008):
//     f = 1.32 * nA + 18.54 * nASN - 142.38,   flux when f > 0
// over the distinct addresses (nA) and ASNs (nASN) in a domain's answers.
// Any history over 8+ ASNs crosses it; a single-ASN CDN needs ~94 addresses.
//
// Extensions, each a part of the score with its own weight (configuration):
//   countries      distinct countries at half an ASN's weight: flux agents
//                  sit in many countries; one AS can span several, so a
//                  country is weaker evidence than an AS.
//   geo spread     the address-diversity parts above are multiplied by the
//                  Gini-Simpson index of the addresses' countries (0 when all
//                  are in one country, ->1 when spread evenly over many).
//                  CDNs and volunteer pools answer with addresses near the
//                  resolver (geo-DNS); flux agents are wherever bots are
//                  (Stalmans & Irwin, Botconf 2013, on flux geography). This
//                  is what keeps a one-country pool of many volunteer ASNs
//                  from looking like flux, and its limit: a botnet confined
//                  to one country scores on ASNs only through pools/NS.
//   continents     for domains whose answers hold one or two addresses:
//                  each continent beyond the second, at four ASNs' weight,
//                  times the same diversity factor. Such an answer shows one
//                  host at a time, so Holz's terms (built for answers of many
//                  records) see single-address flux only after many
//                  rotations: five ASNs after four, too few. Where the
//                  answer jumps to is then the strongest evidence per
//                  rotation: geo-DNS answers a resolver from nearby, a pair
//                  of sites across the Atlantic is common practice, a botnet
//                  is on every continent. Answers of more addresses carry
//                  their diversity in each answer already; there the part
//                  would mostly flag world-wide round robins of hosting
//                  servers (measured on the corpus: 4 of 24), so it does not
//                  count. A provider's own multi-region setup stays out
//                  through the network ratio (few ASNs).
//   prefixes       distinct /24 and /48 networks (FluxBuster's prefix
//                  diversity); weight 0 by default: ASNs carry the signal,
//                  kept for evidence and for operators who want it.
//   double flux    the name servers' glue scored like A records (Holz's
//                  weights on distinct NS addresses and NS ASNs, times their
//                  own geo spread), plus each change of the NS set. These
//                  count only once the zone's name servers have rotated (NS
//                  set or glue changed inside the window): a static set of
//                  name servers at several providers is good practice, not
//                  flux. The 2009 double-flux captures show NS names fixed
//                  for hours while their glue rotates through dozens of
//                  networks.
//   novelty        the address-diversity parts are also multiplied by the
//                  share of new addresses in the answers that changed (1
//                  until an answer changes). Flux hosts are compromised
//                  machines that come and go; volunteer pools and round
//                  robins (NTP pool, mirrors, IRC networks) span as many
//                  networks and countries but their servers are long-lived,
//                  so their answers soon repeat addresses (FluxBuster's
//                  address growth ratio; the notes on the NTP pool).
//   pools          the share of an answer inside the pool of addresses seen
//                  serving flagged domains, and a name server in the pool of
//                  flagged domains' name servers. Either one flags a domain
//                  at its first resolution (min-resolutions does not apply
//                  when at least half the answer, and two addresses, or a
//                  name server are in the pool).
// Threshold: 50 by default, not Holz's 0, since the parts above add to
// theirs: measured on the synthetic corpus (seeds 1-4), 0 flags 9 volunteer
// and mirror pools of 1,000 benign domains, 50 none (nor in seeds 5-8), for
// 18 late single-address flux domains of 312 instead of 6. The pool weight (250)
// keeps its margin over bias + threshold: a domain answering from the pool
// alone is still flagged at once.
// Rotation is followed per name and query type: two names of one domain
// answering with different stable addresses (www at a hoster, mail at a mail
// provider) are not a domain changing its answer.
// Gates: answers whose lowest TTL is above ttl-ceiling (30 min, as the Zeek
// ports of Holz do; FluxBuster drops > 3 h) are no evidence at all; addresses
// count for `window` seconds after they were last seen; unknown ASNs and
// countries (no mmdb record) never count as distinct ones; answer changes
// count while the domain keeps addresses in the window (one idle for a whole
// window starts over).
// Features kept for the evidence but not weighted: TTLs (of answers and of NS
// records), how often the answer set changes, how long addresses stay in use,
// records per answer, the domain's age in our data, distinct CNAME targets and
// how often a name's CNAME moved to another target, and the addresses, ASNs
// and countries of the last hour (the score counts the whole window).
// Cost per answer: distinct ASNs, countries and prefixes are tallied as
// addresses come and go (tally.h); only addresses new to the domain are
// looked up in the geo databases.
//
// Thread safety: observe() may be called from many threads at once; state is
// split into shards, each behind its own mutex held only for the update.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include "configuration.h"
#include "evidence.h"
#include "fleet_types.h"
#include "flux_pools.h"
#include "geo.h"
#include "observation.h"
#include "tally.h"

namespace fluxguard {

class FluxScorer {
public:
    FluxScorer(const ScoringConfig& config, const GeoDatabase& geo);

    // Adds one resolution to `domain`'s state. Returns the evidence the first
    // time the domain's score crosses the threshold, nothing otherwise. The
    // flagged domain's addresses and name servers join the flux pools.
    // `sightings`, when given, receives the answer's addresses with their
    // geo data (what the fleet store shares), or stays empty when the answer
    // was no evidence (TTL above the ceiling). `flagged_before`, when given,
    // tells whether the domain was flagged (or marked blocked) before this
    // resolution; it is read under the same lock as mark_blocked() writes it.
    std::optional<Evidence> observe(const std::string& domain, const Observation& obs,
                                    std::vector<Sighting>* sightings = nullptr,
                                    bool* flagged_before = nullptr);

    // Scores the fleet's combined counts of a domain (store/), with what this
    // instance knows of it for the rest. Returns the evidence the first time
    // the combined score crosses the threshold (or nothing).
    std::optional<Evidence> judge_fleet(const FleetView& view);

    // Records that a domain is blocked (decided elsewhere): it joins the pools
    // and is not flagged again. Returns the names under it seen resolving.
    std::vector<std::string> mark_blocked(const std::string& domain, std::int64_t now);

    std::size_t tracked_domains() const;
    // Heap bytes of the tracked state and the pools, estimated from sizes
    // and capacities (allocator overhead not included).
    std::size_t memory_bytes() const;
    std::size_t pool_size() const { return pools_.size(); }
    // An operator cleared the domain: its evidence starts from scratch and it
    // is not flagged again while its state lives (until evicted;
    // an `allow` entry clears it for good).
    void forget(const std::string& domain);

private:
    struct AddressEntry {
        IpAddress address;
        GeoInfo geo;
        std::int64_t first_seen = 0;
        std::int64_t last_seen = 0;
    };
    struct NameServerEntry {
        std::string name;
        std::int64_t last_seen = 0;
        std::vector<AddressEntry> addresses;
    };
    // The last answer of one (name, type): rotation is judged per name.
    struct NameRotation {
        std::uint64_t key = 0;  // hash of name and type
        std::uint64_t answer_hash = 0;
        std::uint64_t cname_target = 0;  // hash of the chain's end, 0 without CNAME
        std::int64_t last_seen = 0;
        std::array<std::uint32_t, 4> asns{};  // of the last answer, 0 = none
    };
    // The domain's name servers, summarised when they change.
    struct NameServerSummary {
        std::uint16_t addresses = 0;
        std::uint16_t asns = 0;
        double spread = 1;
    };
    // Sized for the usual domain (up to four addresses, two names followed):
    // then the whole state is one allocation, read in one sweep. Bigger
    // histories spill to the heap.
    struct DomainState {
        std::string domain;
        std::size_t accounted_bytes = 0;  // its share of Shard::bytes
        std::int64_t first_seen = 0;
        std::int64_t last_seen = 0;
        std::int64_t oldest_address_seen = 0;  // no address expires before this + window
        std::uint32_t resolutions = 0;
        std::uint32_t min_ttl = UINT32_MAX;
        std::uint32_t answer_changes = 0;
        std::uint32_t cross_network_changes = 0;
        std::uint32_t changed_answer_addresses = 0;  // addresses in answers that changed
        std::uint32_t novel_answer_addresses = 0;    // of which new to the domain
        std::uint32_t ns_changes = 0;
        std::uint32_t ns_glue_changes = 0;
        std::uint32_t cname_target_changes = 0;  // a name's CNAME pointing elsewhere
        std::uint32_t ns_min_ttl = UINT32_MAX;
        std::int64_t ns_rotated_at = -1;  // last NS set or glue change
        std::uint16_t max_records = 0;
        std::uint16_t ipv6_addresses = 0;  // of `addresses`
        bool flagged = false;
        bool cleared = false;
        bool recent = false;  // seen since the eviction hand last passed
        std::uint8_t recent_ttl_count = 0;
        std::array<std::uint32_t, 8> recent_ttls{};
        std::uint64_t last_ns_hash = 0;
        absl::InlinedVector<AddressEntry, 4> addresses;
        // A hash of each address, in the same order: a CDN-like domain holds
        // hundreds of addresses, and scanning 4 bytes each instead of the
        // whole entry keeps add_address() to a few cache lines.
        absl::InlinedVector<std::uint32_t, 4> address_keys;
        Tally<std::uint32_t> asns;
        Tally<std::array<char, 2>> countries;
        Tally<std::array<char, 2>, 2> continents;
        Tally<IpAddress, 1> prefixes;  // only while weight-prefixes is not 0
        std::vector<NameServerEntry> name_servers;
        NameServerSummary ns_summary;
        absl::InlinedVector<NameRotation, 2> rotations;
        std::vector<std::uint64_t> cname_targets;  // hashes, bounded
        absl::InlinedVector<std::string, 2> names;
        std::size_t names_heap_bytes = 0;  // of the strings in `names`, kept as they join
    };
    // One shard of the tracked domains. Eviction is second-chance (CLOCK),
    // the approximation of LRU that page caches use: a hand walks the states
    // in turn, sparing (and unmarking) those seen since it last passed. It
    // needs no list to splice on every resolution, and a domain seen once is
    // the first to go, so a flood of one-off names cannot push out the
    // domains that keep coming back. The index holds a view of each state's
    // domain name (states live on the heap and never move).
    struct Shard {
        mutable std::mutex mutex;
        std::vector<std::unique_ptr<DomainState>> states;
        std::size_t hand = 0;
        absl::flat_hash_map<std::string_view, DomainState*, std::hash<std::string_view>> index;
        std::size_t bytes = 0;  // state_bytes() of every domain here, as last accounted
    };
    struct PoolMatch {
        std::size_t address_hits = 0;
        double address_share = 0;
        bool name_server = false;
        // Half the answer, and two addresses unless the answer has one.
        bool decisive(std::size_t answer_size) const {
            return name_server ||
                   (address_share >= 0.5 && address_hits >= std::min<std::size_t>(2, answer_size));
        }
    };

    // The largest answer (in addresses) a domain may have given for its
    // continents to count (see "continents" above).
    static constexpr std::uint16_t max_records_for_continents = 2;

    static std::size_t state_bytes(const DomainState& state);
    // Brings shard.bytes up to date with what `state` holds now.
    static void account(Shard& shard, DomainState& state);
    Shard& shard_for(const std::string& domain);
    DomainState& touch(Shard& shard, const std::string& domain, std::int64_t now);
    // Second chance: the position in `states` of the next state the hand
    // finds not seen since it last passed, already out of the shard's index
    // and bytes. `locked` must hold a state.
    static std::size_t next_victim(Shard& locked);
    // Evicts one domain from a shard other than `locked` whose lock is free.
    void evict_elsewhere(const Shard& locked);
    static DomainState* find(Shard& locked, std::string_view domain);
    void update(const std::string& domain, DomainState& state, const Observation& obs,
                std::uint32_t answer_ttl, std::vector<Sighting>* sightings);
    void expire(DomainState& state, std::int64_t now) const;
    // The entry for `address`, added (geo looked up) when new; `added` says which.
    AddressEntry& add_address(DomainState& state, const IpAddress& address, std::int64_t now,
                              bool& added) const;
    void count(DomainState& state, const AddressEntry& entry, int delta) const;
    void summarise_name_servers(DomainState& state) const;
    void update_name_servers(const std::string& domain, DomainState& state,
                             const Observation& obs) const;
    void rotate(DomainState& state, const Observation& obs, std::uint64_t answer_hash,
                const std::array<std::uint32_t, 4>& answer_asns, std::size_t fresh) const;
    PoolMatch match_pools(const Observation& obs) const;
    // The weighted feature values; score() and explain() both walk them
    // through for_each_part, so the logged parts always add up to the score.
    struct Features {
        double addresses = 0, asns = 0, countries = 0, prefixes = 0;
        double continents = 0;
        bool small_answers = false;  // no answer held more than max_records_for_continents
        double ns_addresses = 0, ns_asns = 0, ns_changes = 0;
        double pool_share = 0, ns_in_pool = 0;
        double spread = 1, ns_factor = 0, novelty = 1;
        double network_ratio = 0, cross_changes = 0;
    };
    Features features(const DomainState& state, const PoolMatch& pool) const;
    template <typename Visit>
    void for_each_part(const Features& f, Visit&& visit) const;
    double score(const Features& f) const;
    void explain(const DomainState& state, const PoolMatch& pool, const Features& f,
                 std::int64_t now, Evidence& out) const;
    Evidence evidence(const std::string& domain, const DomainState& state,
                      const Observation& obs, const PoolMatch& pool, const Features& f) const;
    // All the domain's addresses, and its name servers that are part of the flux.
    void join_pools(const std::string& domain, const DomainState& state, std::int64_t now);
    void pool_name_servers(const std::string& domain, const DomainState& state, std::int64_t now);

    ScoringConfig config_;
    const GeoDatabase& geo_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<std::size_t> tracked_{0};
    FluxPools pools_;
};

}  // namespace fluxguard
