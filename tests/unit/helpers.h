// Small helpers shared by the unit tests: fixture paths, addresses of the
// fixture address plan, Observations and answer records, and a model of the
// documented score to compute expected results from.
//
// The fixture plan (tests/fixtures/make-test-mmdb.pl):
//   198.18.N.0/24 and 2001:db8:N::/48 (N=1..10, N written as the same digits
//     in IPv6, so N=10 is 2001:db8:10::/48) -> ASN 64600+N, country
//     RU UA BR IN CN TR VN RO US DE
//   198.19.0.0/16, 2001:db8:cd::/48 -> ASN 64700, US (a CDN)
//   192.0.2.0/24 -> ASN 64800, NL
//   203.0.113.(32k)/27, k=0..7 -> ASN 64900+k, KZ BY MD GE AM AZ UZ KG
//   anything else: no record.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "configuration.h"
#include "dns_name.h"
#include "geo.h"
#include "ip_address.h"
#include "observation.h"

namespace fgtest {

inline std::string fixture(const std::string& name) {
    return std::string(FLUXGUARD_FIXTURES) + "/" + name;
}
inline std::string asn_db() { return fixture("test-asn.mmdb"); }
inline std::string country_db() { return fixture("test-country.mmdb"); }

// One GeoDatabase over the fixtures for the whole run (opening is the slow part).
inline const fluxguard::GeoDatabase& fixture_geo() {
    static const fluxguard::GeoDatabase db(asn_db(), country_db());
    return db;
}

inline constexpr std::array<const char*, 10> flux_countries = {"RU", "UA", "BR", "IN", "CN",
                                                               "TR", "VN", "RO", "US", "DE"};
inline std::uint32_t flux_asn(int net) { return 64600u + static_cast<std::uint32_t>(net); }

// Host `host` of flux network `net` (1..10).
inline std::string flux_v4(int net, int host) {
    return "198.18." + std::to_string(net) + "." + std::to_string(host);
}
inline std::string flux_v6(int net, int host) {
    return "2001:db8:" + std::to_string(net) + "::" + std::to_string(host);
}
// The k-th address (k = 0, 1, ...) of a domain rotating through the ten flux
// networks: network k % 10 + 1, host k / 10 + 1.
inline int rotation_net(int k) { return k % 10 + 1; }
inline std::string rotating_v4(int k) { return flux_v4(rotation_net(k), k / 10 + 1); }
inline std::string rotating_v6(int k) { return flux_v6(rotation_net(k), k / 10 + 1); }

// The CDN: one ASN and country, 65536 IPv4 addresses.
inline std::string cdn_v4(int index) {
    return "198.19." + std::to_string(index / 250) + "." + std::to_string(index % 250 + 1);
}
// No record in either database.
inline std::string unknown_v4(int index) {
    return "10.0." + std::to_string(index / 250) + "." + std::to_string(index % 250 + 1);
}

inline fluxguard::IpAddress ip(std::string_view text) {
    auto a = fluxguard::IpAddress::parse(text);
    if (!a) throw std::invalid_argument("test helper: bad address " + std::string(text));
    return *a;
}

// A resolution of `qname` (no CNAME) answered with `addresses`, all with `ttl`.
inline fluxguard::Observation resolution(std::int64_t time, const std::string& qname,
                                         const std::vector<std::string>& addresses,
                                         std::uint32_t ttl = 300) {
    fluxguard::Observation obs;
    obs.time = time;
    obs.qname = qname;
    obs.qtype = fluxguard::type_a;
    obs.chain = {qname};
    for (const auto& a : addresses) obs.addresses.push_back({ip(a), ttl});
    return obs;
}

inline std::vector<std::uint8_t> wire(std::string_view text) {
    auto w = fluxguard::name_to_wire(text);
    if (!w) throw std::invalid_argument("test helper: bad name " + std::string(text));
    return *w;
}

inline fluxguard::Record a_record(const std::string& owner, const std::string& address,
                                  std::uint32_t ttl = 300) {
    const auto a = ip(address);
    return {
        owner,
        a.family() == fluxguard::IpAddress::Family::v4 ? fluxguard::type_a : fluxguard::type_aaaa,
        ttl, {a.bytes().begin(), a.bytes().end()}};
}

inline fluxguard::Record cname_record(const std::string& owner, const std::string& target,
                                      std::uint32_t ttl = 300) {
    const auto name = wire(target);
    return {owner, fluxguard::type_cname, ttl, {name.begin(), name.end()}};
}

// The fixture plan written out independently of the mmdb reader: what
// GeoDatabase::lookup should say for `address`.
struct PlanGeo {
    std::uint32_t asn = 0;
    std::string country;  // "" for no record
};
inline PlanGeo plan_geo(std::string_view address) {
    static const std::array<const char*, 8> ns_countries = {"KZ", "BY", "MD", "GE",
                                                            "AM", "AZ", "UZ", "KG"};
    const auto a = ip(address);
    const auto b = a.bytes();
    if (a.family() == fluxguard::IpAddress::Family::v4) {
        if (b[0] == 198 && b[1] == 18 && b[2] >= 1 && b[2] <= 10)
            return {flux_asn(b[2]), flux_countries[b[2] - 1u]};
        if (b[0] == 198 && b[1] == 19) return {64700, "US"};
        if (b[0] == 192 && b[1] == 0 && b[2] == 2) return {64800, "NL"};
        if (b[0] == 203 && b[1] == 0 && b[2] == 113)
            return {64900u + b[3] / 32u, ns_countries[b[3] / 32u]};
        return {};
    }
    if (b[0] != 0x20 || b[1] != 0x01 || b[2] != 0x0d || b[3] != 0xb8) return {};
    const int group = b[4] * 256 + b[5];  // the third group of 2001:db8:N::
    if (group >= 1 && group <= 9)
        return {flux_asn(group), flux_countries[static_cast<std::size_t>(group - 1)]};
    if (group == 0x10) return {flux_asn(10), flux_countries[9]};  // "10" in hex
    if (group == 0xcd) return {64700, "US"};
    return {};
}

// The fixture's continent.code of each of its countries ("" for none).
inline std::string plan_continent(const std::string& country) {
    static const std::map<std::string, std::string> continent = {
        {"RU", "EU"}, {"UA", "EU"}, {"BR", "SA"}, {"IN", "AS"}, {"CN", "AS"}, {"TR", "AS"},
        {"VN", "AS"}, {"RO", "EU"}, {"US", "NA"}, {"DE", "EU"}, {"NL", "EU"}, {"KZ", "AS"},
        {"BY", "EU"}, {"MD", "EU"}, {"GE", "AS"}, {"AM", "AS"}, {"AZ", "AS"}, {"UZ", "AS"},
        {"KG", "AS"}};
    const auto it = continent.find(country);
    return it == continent.end() ? "" : it->second;
}

// A model of the score as scoring/flux_scorer.{h,cpp} document it, for a
// history of answer addresses only (no name servers, nothing in the pools):
//
//   diversity * (wA*addresses + wASN*ASNs + wCC*countries + wP*prefixes
//                + wX*cross_network_changes + wCont*continents_beyond_two) + bias
//   diversity = spread * ASNs / addresses
//
// spread is the Gini-Simpson index 1 - sum(p_c^2) over the countries of the
// addresses that have one (1 when none has); ASNs and countries count known
// ones only; a cross-network change is an answer that differs from the
// previous one and shares none of its (known) ASNs. The scorer changed
// while these tests were written: when it changes again, this is the one
// place to follow it.
struct History {
    std::set<std::string> addresses;  // canonical text
    double cross_changes = 0;
    std::set<std::string> previous;  // the previous answer
    bool has_previous = false;
    double changed = 0, novel = 0;  // addresses in changed answers, and new ones
    std::size_t max_answer = 0;     // the largest answer (a list added counts as one)

    // An address that counts, outside any answer sequence.
    void add(std::string_view address) { addresses.insert(ip(address).to_string()); }
    void add(const std::vector<std::string>& list) {
        for (const auto& a : list) add(a);
        max_answer = std::max(max_answer, list.size());
    }
    // The next answer of the domain (nothing expires in between).
    void resolve(const std::vector<std::string>& answer) {
        std::set<std::string> now;
        for (const auto& a : answer) now.insert(ip(a).to_string());
        if (has_previous && now != previous) {
            const auto before = asn_set(previous);
            const auto after = asn_set(now);
            bool shared = false;
            for (auto a : after) shared = shared || before.count(a) > 0;
            if (!before.empty() && !after.empty() && !shared) ++cross_changes;
            changed += static_cast<double>(now.size());
            for (const auto& a : now) novel += addresses.count(a) ? 0 : 1;
        }
        previous = now;
        has_previous = true;
        add(answer);
    }

    static std::set<std::uint32_t> asn_set(const std::set<std::string>& list) {
        std::set<std::uint32_t> s;
        for (const auto& a : list)
            if (auto g = plan_geo(a); g.asn != 0) s.insert(g.asn);
        return s;
    }
    double count() const { return static_cast<double>(addresses.size()); }
    double asns() const { return static_cast<double>(asn_set(addresses).size()); }
    std::map<std::string, int> country_counts() const {
        std::map<std::string, int> m;
        for (const auto& a : addresses)
            if (auto g = plan_geo(a); !g.country.empty()) ++m[g.country];
        return m;
    }
    double countries() const { return static_cast<double>(country_counts().size()); }
    // Continents beyond the second, counted only while no answer held more
    // than two addresses.
    double continents_beyond_two() const {
        if (max_answer > 2) return 0;
        std::set<std::string> s;
        for (const auto& [country, _] : country_counts())
            if (auto c = plan_continent(country); !c.empty()) s.insert(c);
        return s.size() > 2 ? static_cast<double>(s.size() - 2) : 0.0;
    }
    double prefixes() const {
        std::set<fluxguard::IpAddress> s;
        for (const auto& a : addresses) s.insert(ip(a).network_prefix());
        return static_cast<double>(s.size());
    }
    double spread() const {
        const auto m = country_counts();
        int known = 0;
        for (const auto& [_, n] : m) known += n;
        if (known == 0) return 1.0;
        double sum = 0;
        for (const auto& [_, n] : m) {
            const double p = static_cast<double>(n) / static_cast<double>(known);
            sum += p * p;
        }
        return 1.0 - sum;
    }
    // Share of new addresses in the answers that changed; 1 before any did.
    double novelty() const { return changed == 0 ? 1.0 : novel / changed; }
    // Distinct ASNs per host, the larger address family standing for the
    // hosts (dual-stack agents), at most 1.
    double network_ratio() const {
        double v6 = 0;
        for (const auto& a : addresses) v6 += a.find(':') != std::string::npos ? 1 : 0;
        const double hosts = std::max(count() - v6, v6);
        return hosts == 0 ? 0.0 : std::min(1.0, asns() / hosts);
    }
    double diversity() const {
        return addresses.empty() ? 0.0 : spread() * network_ratio() * novelty();
    }
    double score(const fluxguard::ScoringConfig& c) const {
        return diversity() * (c.weight_addresses * count() + c.weight_asns * asns() +
                              c.weight_countries * countries() + c.weight_prefixes * prefixes() +
                              c.weight_cross_changes * cross_changes +
                              c.weight_continents * continents_beyond_two()) +
               c.score_bias;
    }
};

inline History history_of(const std::vector<std::string>& addresses) {
    History h;
    h.add(addresses);
    return h;
}

}  // namespace fgtest
