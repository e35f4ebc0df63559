// ASN and country of an address, from MaxMind-format databases in the
// GeoLite2-ASN and GeoLite2-Country/City schemas (GeoLite2, DB-IP Lite, or the
// files fluxguard builds from Debian's libloc-database).
// Opened once at start-up; lookups are read-only and safe from any thread.
#pragma once

#include <maxminddb.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ip_address.h"

namespace fluxguard {

struct GeoInfo {
    std::uint32_t asn = 0;             // 0: the database has no record
    std::array<char, 2> country{};     // ISO 3166 alpha-2; {0,0}: no record
    std::array<char, 2> continent{};   // GeoLite2's continent.code (EU, NA, ...); {0,0}: none
    bool has_country() const { return country[0] != 0; }
    bool has_continent() const { return continent[0] != 0; }
    std::string country_code() const { return has_country() ? std::string(country.data(), 2) : ""; }
};

class GeoError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

class GeoDatabase {
public:
    // Throws GeoError naming the file when it cannot be opened or is not of
    // the expected schema.
    GeoDatabase(const std::string& asn_path, const std::string& country_path);

    GeoInfo lookup(const IpAddress& address) const;

private:
    struct Close {
        void operator()(MMDB_s* db) const noexcept;
    };
    using Handle = std::unique_ptr<MMDB_s, Close>;
    static Handle open(const std::string& path, const char* what, const char* schema_hint);

    Handle asn_;
    Handle country_;
};

}  // namespace fluxguard
