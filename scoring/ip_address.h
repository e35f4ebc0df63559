// An IPv4 or IPv6 address as plain bytes: the unit of flux evidence.
// Value type; safe to copy between threads.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fluxguard {

class IpAddress {
public:
    enum class Family : std::uint8_t { v4 = 4, v6 = 6 };

    static IpAddress v4(std::span<const std::uint8_t, 4> bytes);
    static IpAddress v6(std::span<const std::uint8_t, 16> bytes);
    // Builds from DNS rdata: 4 bytes (A) or 16 bytes (AAAA); nullopt otherwise.
    static std::optional<IpAddress> from_rdata(std::span<const std::uint8_t> rdata);
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    // 4 significant bytes for IPv4, 16 for IPv6.
    std::span<const std::uint8_t> bytes() const {
        return {bytes_.data(), family_ == Family::v4 ? 4u : 16u};
    }
    // The /24 (IPv4) or /48 (IPv6) network this address sits in, as an address.
    IpAddress network_prefix() const;
    std::string to_string() const;

    // Two word compares, not a call to memcmp: the scorer compares an answer's
    // addresses with every address a domain holds (hundreds for a CDN).
    friend bool operator==(const IpAddress& a, const IpAddress& b) {
        std::uint64_t x[2], y[2];
        std::memcpy(x, a.bytes_.data(), sizeof x);
        std::memcpy(y, b.bytes_.data(), sizeof y);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0 && a.family_ == b.family_;
    }
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

private:
    Family family_ = Family::v4;
    std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace fluxguard

template <>
struct std::hash<fluxguard::IpAddress> {
    std::size_t operator()(const fluxguard::IpAddress& a) const noexcept;
};
