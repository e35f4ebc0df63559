// Small helpers shared by the unit tests: fixture paths, addresses of the
// fixture address plan, Observations and answer records, the score formula.
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

#include <array>
#include <cstdint>
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
    return {owner, a.family() == fluxguard::IpAddress::Family::v4 ? fluxguard::type_a
                                                                   : fluxguard::type_aaaa,
            ttl, std::vector<std::uint8_t>(a.bytes().begin(), a.bytes().end())};
}

inline fluxguard::Record cname_record(const std::string& owner, const std::string& target,
                                      std::uint32_t ttl = 300) {
    return {owner, fluxguard::type_cname, ttl, wire(target)};
}

// The documented v0 score: w_A*nA + w_ASN*nASN + w_CC*nCC + bias.
inline double formula(const fluxguard::ScoringConfig& c, double addresses, double asns,
                      double countries) {
    return c.weight_addresses * addresses + c.weight_asns * asns +
           c.weight_countries * countries + c.score_bias;
}

}  // namespace fgtest
