#include "geo.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <cstring>

namespace fluxguard {

void GeoDatabase::Close::operator()(MMDB_s* db) const noexcept {
    MMDB_close(db);
    delete db;
}

GeoDatabase::Handle GeoDatabase::open(const std::string& path, const char* what,
                                      const char* schema_hint) {
    // Until MMDB_open succeeds there is nothing to MMDB_close, only the struct.
    auto opening = std::make_unique<MMDB_s>();
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, opening.get());
    if (status != MMDB_SUCCESS) {
        throw GeoError(fmt::format("{} '{}': {}{}", what, path, MMDB_strerror(status),
                                   (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) ? fmt::format(" ({})", std::strerror(errno))
                                                           : ""));
    }
    Handle db(opening.release());
    const std::string type = db->metadata.database_type ? db->metadata.database_type : "";
    bool ok = false;
    for (const char* hint = schema_hint; *hint; hint += std::strlen(hint) + 1)
        ok = ok || type.find(hint) != std::string::npos;
    if (!ok)
        throw GeoError(fmt::format("{} '{}': database type '{}' is not the expected schema", what,
                                   path, type));
    return db;
}

GeoDatabase::GeoDatabase(const std::string& asn_path, const std::string& country_path)
    : asn_(open(asn_path, "asn-database", "ASN\0")),
      country_(open(country_path, "country-database", "Country\0City\0")) {}

namespace {

MMDB_lookup_result_s lookup_in(MMDB_s* db, const IpAddress& address) {
    sockaddr_storage ss{};
    if (address.family() == IpAddress::Family::v4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, address.bytes().data(), 4);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
    }
    int mmdb_error = MMDB_SUCCESS;
    auto result = MMDB_lookup_sockaddr(db, reinterpret_cast<sockaddr*>(&ss), &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS) result.found_entry = false;
    return result;
}

// Paths for MMDB_aget_value: the varargs MMDB_get_value allocates a copy of
// its path on every call (calloc and free were up to a quarter of the scoring
// thread's samples when every answer brought new addresses).
const char* const asn_path[] = {"autonomous_system_number", nullptr};
const char* const country_path[] = {"country", "iso_code", nullptr};
const char* const continent_path[] = {"continent", "code", nullptr};

}  // namespace

GeoInfo GeoDatabase::lookup(const IpAddress& address) const {
    GeoInfo info;
    auto asn = lookup_in(asn_.get(), address);
    if (asn.found_entry) {
        MMDB_entry_data_s data{};
        if (MMDB_aget_value(&asn.entry, &data, asn_path) == MMDB_SUCCESS && data.has_data &&
            data.type == MMDB_DATA_TYPE_UINT32)
            info.asn = data.uint32;
    }
    auto country = lookup_in(country_.get(), address);
    if (country.found_entry) {
        const auto two_letters = [&](const char* const* path, std::array<char, 2>& out) {
            MMDB_entry_data_s data{};
            if (MMDB_aget_value(&country.entry, &data, path) == MMDB_SUCCESS && data.has_data &&
                data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size == 2)
                out = {data.utf8_string[0], data.utf8_string[1]};
        };
        two_letters(country_path, info.country);
        two_letters(continent_path, info.continent);
    }
    return info;
}

}  // namespace fluxguard
