#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "geo.h"
#include "helpers.h"
#include "unit.h"

using Catch::Matchers::Contains;
using fgtest::asn_db;
using fgtest::country_db;
using fgtest::fixture_geo;
using fgtest::ip;
using fluxguard::GeoDatabase;
using fluxguard::GeoError;

namespace {

std::string geo_error(const std::string& asn_path, const std::string& country_path) {
    try {
        GeoDatabase db(asn_path, country_path);
    } catch (const GeoError& e) {
        return e.what();
    }
    FAIL_CHECK("opened asn '" << asn_path << "' and country '" << country_path << "'");
    return "";
}

void check_lookup(const std::string& address, std::uint32_t asn, const std::string& country) {
    INFO(address);
    const auto info = fixture_geo().lookup(ip(address));
    CHECK(info.asn == asn);
    CHECK(info.has_country() == !country.empty());
    CHECK(info.country_code() == country);
    const std::string continent = fgtest::plan_continent(country);
    CHECK(info.has_continent() == !continent.empty());
    CHECK(std::string(info.continent.data(), info.has_continent() ? 2 : 0) == continent);
}

}  // namespace

TEST_CASE("geo: IPv4 lookups on the fixture plan", "[geo]") {
    for (int n = 1; n <= 10; ++n) {
        const std::string cc = fgtest::flux_countries[static_cast<std::size_t>(n - 1)];
        check_lookup(fgtest::flux_v4(n, 1), fgtest::flux_asn(n), cc);
        check_lookup(fgtest::flux_v4(n, 254), fgtest::flux_asn(n), cc);
    }
    check_lookup("198.19.0.1", 64700, "US");
    check_lookup("198.19.255.254", 64700, "US");
    check_lookup("192.0.2.53", 64800, "NL");
    const char* ns_countries[] = {"KZ", "BY", "MD", "GE", "AM", "AZ", "UZ", "KG"};
    for (int k = 0; k < 8; ++k) {
        const auto asn = 64900u + static_cast<std::uint32_t>(k);
        check_lookup("203.0.113." + std::to_string(32 * k), asn, ns_countries[k]);
        check_lookup("203.0.113." + std::to_string(32 * k + 31), asn, ns_countries[k]);
    }
}

TEST_CASE("geo: IPv6 lookups on the fixture plan", "[geo]") {
    for (int n = 1; n <= 10; ++n) {
        const std::string cc = fgtest::flux_countries[static_cast<std::size_t>(n - 1)];
        check_lookup(fgtest::flux_v6(n, 1), fgtest::flux_asn(n), cc);
        check_lookup("2001:db8:" + std::to_string(n) + ":ffff:ffff:ffff:ffff:ffff",
                     fgtest::flux_asn(n), cc);
    }
    // The script writes N=10 with the decimal digits: 2001:db8:10::/48 (hex
    // 0x10), so 2001:db8:a:: (hex for ten) has no record.
    check_lookup("2001:db8:10:ffff::1", 64610, "DE");
    check_lookup("2001:db8:a::1", 0, "");
    check_lookup("2001:db8:cd::1", 64700, "US");
    check_lookup("2001:db8:cd:ffff:ffff:ffff:ffff:ffff", 64700, "US");
}

TEST_CASE("geo: addresses without a record", "[geo]") {
    for (const char* address : {"10.0.0.1", "8.8.8.8", "198.18.0.1", "198.18.11.1", "198.20.0.1",
                                "192.0.3.1", "203.0.114.1", "2001:db8::1", "2001:db8:b::1",
                                "2001:db8:ce::1", "2001:db9:1::1", "::1"}) {
        check_lookup(address, 0, "");
    }
}

TEST_CASE("geo: a missing file throws GeoError naming the file and the key", "[geo]") {
    const std::string missing = fgtest::fixture("does-not-exist.mmdb");
    CHECK_THAT(geo_error(missing, country_db()), Contains(missing) && Contains("asn-database"));
    CHECK_THAT(geo_error(asn_db(), missing), Contains(missing) && Contains("country-database"));
}

TEST_CASE("geo: a database of the wrong schema is refused", "[geo]") {
    // The ASN file as the country database, and the other way round.
    CHECK_THAT(geo_error(asn_db(), asn_db()),
               Contains("country-database") && Contains(asn_db()) && Contains("GeoLite2-ASN"));
    CHECK_THAT(geo_error(country_db(), country_db()),
               Contains("asn-database") && Contains(country_db()) && Contains("GeoLite2-Country"));
}

TEST_CASE("geo: a file that is not an mmdb is refused", "[geo]") {
    const std::string junk = (std::filesystem::temp_directory_path() /
                              ("fluxguard-unit-" + std::to_string(::getpid()) + "-not-an-mmdb.txt"))
                                 .string();
    std::ofstream(junk) << "this is not a MaxMind database\n";
    CHECK_THAT(geo_error(junk, country_db()), Contains(junk) && Contains("asn-database"));
    CHECK_THAT(geo_error(asn_db(), junk), Contains(junk) && Contains("country-database"));
    std::remove(junk.c_str());
}
