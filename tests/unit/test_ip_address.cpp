#include <cstdint>
#include <functional>
#include <set>
#include <unordered_set>
#include <vector>

#include "ip_address.h"
#include "unit.h"

using fluxguard::IpAddress;
using Family = IpAddress::Family;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes_of(const IpAddress& a) { return Bytes(a.bytes().begin(), a.bytes().end()); }

}  // namespace

TEST_CASE("ip_address: IPv4 parse and to_string", "[ip_address]") {
    const auto a = IpAddress::parse("198.18.3.77");
    REQUIRE(a);
    CHECK(a->family() == Family::v4);
    CHECK(bytes_of(*a) == Bytes{198, 18, 3, 77});
    CHECK(a->to_string() == "198.18.3.77");
    CHECK(IpAddress::parse("0.0.0.0")->to_string() == "0.0.0.0");
    CHECK(IpAddress::parse("255.255.255.255")->to_string() == "255.255.255.255");
}

TEST_CASE("ip_address: IPv6 parse and to_string", "[ip_address]") {
    const auto a = IpAddress::parse("2001:db8:3::5");
    REQUIRE(a);
    CHECK(a->family() == Family::v6);
    CHECK(bytes_of(*a) == Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5});
    CHECK(a->to_string() == "2001:db8:3::5");
    // to_string gives the canonical (RFC 5952) form.
    CHECK(IpAddress::parse("2001:0DB8:0000:0000:0000:0000:0000:0001")->to_string() ==
          "2001:db8::1");
    CHECK(IpAddress::parse("::")->to_string() == "::");
    // A v4-mapped address stays IPv6.
    const auto mapped = IpAddress::parse("::ffff:198.18.1.1");
    REQUIRE(mapped);
    CHECK(mapped->family() == Family::v6);
    CHECK(*mapped != *IpAddress::parse("198.18.1.1"));
}

TEST_CASE("ip_address: parse rejects non-addresses", "[ip_address]") {
    for (const char* bad : {"", "1.2.3", "256.1.1.1", "1.2.3.4.5", "1.2.3.4/24", "2001:db8::1::2",
                            "2001:db8::g", "flux.test", " 1.2.3.4", "1.2.3.4 "}) {
        INFO("input: '" << bad << "'");
        CHECK_FALSE(IpAddress::parse(bad));
    }
}

TEST_CASE("ip_address: from_rdata takes 4 or 16 bytes only", "[ip_address]") {
    const Bytes four{192, 0, 2, 1};
    const auto v4 = IpAddress::from_rdata(four);
    REQUIRE(v4);
    CHECK(v4->family() == Family::v4);
    CHECK(v4->to_string() == "192.0.2.1");

    Bytes sixteen(16, 0);
    sixteen[0] = 0x20;
    sixteen[1] = 0x01;
    sixteen[2] = 0x0d;
    sixteen[3] = 0xb8;
    sixteen[15] = 9;
    const auto v6 = IpAddress::from_rdata(sixteen);
    REQUIRE(v6);
    CHECK(v6->family() == Family::v6);
    CHECK(v6->to_string() == "2001:db8::9");

    for (std::size_t size : {0u, 1u, 3u, 5u, 8u, 15u, 17u, 32u}) {
        INFO("size " << size);
        CHECK_FALSE(IpAddress::from_rdata(Bytes(size, 1)));
    }
}

TEST_CASE("ip_address: network_prefix: /24 for IPv4, /48 for IPv6", "[ip_address]") {
    const auto p4 = IpAddress::parse("198.18.3.77")->network_prefix();
    CHECK(p4.family() == Family::v4);
    CHECK(p4.to_string() == "198.18.3.0");
    CHECK(IpAddress::parse("198.18.3.1")->network_prefix() == p4);
    CHECK(IpAddress::parse("198.18.4.77")->network_prefix() != p4);

    const auto p6 = IpAddress::parse("2001:db8:3:ffff:1:2:3:4")->network_prefix();
    CHECK(p6.family() == Family::v6);
    CHECK(p6.to_string() == "2001:db8:3::");
    CHECK(IpAddress::parse("2001:db8:3::1")->network_prefix() == p6);
    CHECK(IpAddress::parse("2001:db8:4::1")->network_prefix() != p6);
    CHECK(IpAddress::parse("2001:db9:3::1")->network_prefix() != p6);
}

TEST_CASE("ip_address: equality, ordering and hashing", "[ip_address]") {
    const auto a = *IpAddress::parse("198.18.1.1");
    const auto b = *IpAddress::parse("198.18.1.1");
    const auto c = *IpAddress::parse("198.18.1.2");
    CHECK(a == b);
    CHECK(a != c);
    CHECK(std::hash<IpAddress>{}(a) == std::hash<IpAddress>{}(b));
    CHECK((a < c) != (c < a));

    // Same leading bytes, different family: different addresses.
    const std::uint8_t raw[16] = {198, 18, 1, 1};
    const auto v4 = IpAddress::v4(std::span<const std::uint8_t, 4>(raw, 4));
    const auto v6 = IpAddress::v6(std::span<const std::uint8_t, 16>(raw, 16));
    CHECK(v4 == a);
    CHECK(v4 != v6);

    std::unordered_set<IpAddress> set;
    std::set<IpAddress> ordered;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 200; ++i) {
            const auto x = *IpAddress::parse("198.18." + std::to_string(i % 10 + 1) + "." +
                                             std::to_string(i / 10 + 1));
            const auto y = *IpAddress::parse("2001:db8::" + std::to_string(i));
            set.insert(x);
            set.insert(y);
            ordered.insert(x);
            ordered.insert(y);
        }
    }
    set.insert(v4);
    set.insert(v6);
    CHECK(set.size() == 401);  // 200 v4 + 200 v6 + the v6 form of 198.18.1.1 (v4 is a dup)
    CHECK(ordered.size() == 400);
    CHECK(set.count(c) == 1);
}
