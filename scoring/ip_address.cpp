#include "ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace fluxguard {

IpAddress IpAddress::v4(std::span<const std::uint8_t, 4> bytes) {
    IpAddress a;
    a.family_ = Family::v4;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    return a;
}

IpAddress IpAddress::v6(std::span<const std::uint8_t, 16> bytes) {
    IpAddress a;
    a.family_ = Family::v6;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    return a;
}

std::optional<IpAddress> IpAddress::from_rdata(std::span<const std::uint8_t> rdata) {
    if (rdata.size() == 4) return v4(rdata.first<4>());
    if (rdata.size() == 16) return v6(rdata.first<16>());
    return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    std::string s(text);
    std::array<std::uint8_t, 16> buf{};
    if (inet_pton(AF_INET, s.c_str(), buf.data()) == 1)
        return v4(std::span<const std::uint8_t, 4>(buf.data(), 4));
    if (inet_pton(AF_INET6, s.c_str(), buf.data()) == 1)
        return v6(std::span<const std::uint8_t, 16>(buf.data(), 16));
    return std::nullopt;
}

IpAddress IpAddress::network_prefix() const {
    IpAddress p = *this;
    const std::size_t keep = family_ == Family::v4 ? 3 : 6;
    std::fill(p.bytes_.begin() + static_cast<std::ptrdiff_t>(keep), p.bytes_.end(), 0);
    return p;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family_ == Family::v4 ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

}  // namespace fluxguard

std::size_t std::hash<fluxguard::IpAddress>::operator()(
    const fluxguard::IpAddress& a) const noexcept {
    // FNV-1a over family and bytes: cheap and good enough for hash tables.
    std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint8_t>(a.family());
    for (auto b : a.bytes()) h = (h ^ b) * 1099511628211ull;
    return static_cast<std::size_t>(h);
}
