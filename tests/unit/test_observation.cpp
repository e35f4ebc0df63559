#include <string>
#include <vector>

#include "helpers.h"
#include "observation.h"
#include "unit.h"

using fgtest::a_record;
using fgtest::cname_record;
using fluxguard::Observation;
using fluxguard::Record;

namespace {

Observation follow(const std::string& qname, const std::vector<Record>& answer) {
    Observation obs;
    obs.qname = qname;
    // Leftovers from an earlier use must not survive.
    obs.chain = {"stale.test"};
    obs.addresses.push_back({fgtest::ip("192.0.2.99"), 1});
    fluxguard::follow_answer(obs, answer);
    return obs;
}

std::vector<std::string> addresses_of(const Observation& obs) {
    std::vector<std::string> out;
    for (const auto& a : obs.addresses) out.push_back(a.address.to_string());
    return out;
}

std::string hop(int i) { return "hop" + std::to_string(i) + ".chain.test"; }

// qname hop0 -> hop1 -> ... -> hop<n> (n CNAMEs), and hop<n> A 192.0.2.1.
std::vector<Record> chain_of(int n) {
    std::vector<Record> answer;
    for (int i = 0; i < n; ++i) answer.push_back(cname_record(hop(i), hop(i + 1)));
    answer.push_back(a_record(hop(n), "192.0.2.1"));
    return answer;
}

}  // namespace

TEST_CASE("follow_answer: plain A answer", "[observation]") {
    const auto obs = follow("www.flux.test", {a_record("www.flux.test", "198.18.1.1", 120),
                                              a_record("www.flux.test", "198.18.2.1", 60)});
    CHECK(obs.chain == std::vector<std::string>{"www.flux.test"});
    CHECK(obs.address_owner() == "www.flux.test");
    CHECK(addresses_of(obs) == std::vector<std::string>{"198.18.1.1", "198.18.2.1"});
    REQUIRE(obs.addresses.size() == 2);
    CHECK(obs.addresses[0].ttl == 120);
    CHECK(obs.addresses[1].ttl == 60);
}

TEST_CASE("follow_answer: AAAA answer", "[observation]") {
    const auto obs = follow("v6.flux.test", {a_record("v6.flux.test", "2001:db8:1::1"),
                                             a_record("v6.flux.test", "2001:db8:10::1")});
    CHECK(addresses_of(obs) == std::vector<std::string>{"2001:db8:1::1", "2001:db8:10::1"});
    for (const auto& a : obs.addresses)
        CHECK(a.address.family() == fluxguard::IpAddress::Family::v6);
}

TEST_CASE("follow_answer: a CNAME chain of several hops", "[observation]") {
    // Records out of order, with upper case in a CNAME target's wire form.
    std::vector<Record> answer = {
        a_record("edge.flux.test", "198.18.3.3"),
        cname_record("cdn.alias.test", "EDGE.Flux.TEST"),
        a_record("edge.flux.test", "2001:db8:4::4"),
        cname_record("www.alias.test", "cdn.alias.test"),
    };
    const auto obs = follow("www.alias.test", answer);
    CHECK(obs.chain ==
          std::vector<std::string>{"www.alias.test", "cdn.alias.test", "edge.flux.test"});
    CHECK(obs.address_owner() == "edge.flux.test");
    CHECK(addresses_of(obs) == std::vector<std::string>{"198.18.3.3", "2001:db8:4::4"});
}

TEST_CASE("follow_answer: a CNAME loop terminates", "[observation]") {
    SECTION("a -> b -> a") {
        const auto obs = follow("a.loop.test", {cname_record("a.loop.test", "b.loop.test"),
                                                cname_record("b.loop.test", "a.loop.test"),
                                                a_record("a.loop.test", "192.0.2.1")});
        CHECK(obs.chain == std::vector<std::string>{"a.loop.test", "b.loop.test"});
        CHECK(obs.addresses.empty());  // b owns no address
    }
    SECTION("a -> a") {
        const auto obs = follow("a.loop.test", {cname_record("a.loop.test", "a.loop.test"),
                                                a_record("a.loop.test", "192.0.2.1")});
        CHECK(obs.chain == std::vector<std::string>{"a.loop.test"});
    }
}

TEST_CASE("follow_answer: chains longer than 16 are cut", "[observation]") {
    SECTION("16 CNAMEs are followed to the end") {
        const auto obs = follow(hop(0), chain_of(16));
        CHECK(obs.chain.size() == 17);
        CHECK(obs.address_owner() == hop(16));
        CHECK(addresses_of(obs) == std::vector<std::string>{"192.0.2.1"});
    }
    SECTION("a 40-hop chain stops, and its end's addresses are not taken") {
        const auto obs = follow(hop(0), chain_of(40));
        CHECK(obs.chain.size() >= 16);
        CHECK(obs.chain.size() <= 17);
        for (std::size_t i = 0; i < obs.chain.size(); ++i)
            CHECK(obs.chain[i] == hop(static_cast<int>(i)));
        CHECK(obs.addresses.empty());
    }
}

TEST_CASE("follow_answer: malformed CNAME rdata ends the chain", "[observation]") {
    Record bad = cname_record("www.alias.test", "edge.flux.test");
    bad.rdata.pop_back();  // no terminator
    const auto obs = follow("www.alias.test", {bad, a_record("edge.flux.test", "198.18.1.1"),
                                               a_record("www.alias.test", "192.0.2.7")});
    CHECK(obs.chain == std::vector<std::string>{"www.alias.test"});
    CHECK(addresses_of(obs) == std::vector<std::string>{"192.0.2.7"});

    Record pointer{"www.alias.test", fluxguard::type_cname, 300, {0xC0, 0x0C}};
    const auto obs2 = follow("www.alias.test", {pointer, a_record("www.alias.test", "192.0.2.8")});
    CHECK(obs2.chain == std::vector<std::string>{"www.alias.test"});
    CHECK(addresses_of(obs2) == std::vector<std::string>{"192.0.2.8"});
}

TEST_CASE("follow_answer: records of other owners and types are ignored", "[observation]") {
    Record bad_a{"www.flux.test", fluxguard::type_a, 300, {1, 2, 3}};  // wrong length
    const auto ns_name = fgtest::wire("ns1.flux.test");
    Record ns{"www.flux.test", fluxguard::type_ns, 300, {ns_name.begin(), ns_name.end()}};
    const auto obs = follow("www.flux.test", {
                                                 a_record("other.flux.test", "198.18.1.1"),
                                                 a_record("flux.test", "198.18.2.1"),
                                                 a_record("sub.www.flux.test", "198.18.3.1"),
                                                 ns,
                                                 bad_a,
                                                 a_record("www.flux.test", "198.18.4.1"),
                                             });
    CHECK(obs.chain == std::vector<std::string>{"www.flux.test"});
    CHECK(addresses_of(obs) == std::vector<std::string>{"198.18.4.1"});
    // A record of the CNAME's owner is not an address of the target either.
    const auto obs2 = follow("www.alias.test", {cname_record("www.alias.test", "edge.flux.test"),
                                                a_record("www.alias.test", "192.0.2.1"),
                                                a_record("edge.flux.test", "198.18.5.1")});
    CHECK(addresses_of(obs2) == std::vector<std::string>{"198.18.5.1"});
}

TEST_CASE("follow_answer: empty answer", "[observation]") {
    const auto obs = follow("nothing.test", {});
    CHECK(obs.chain == std::vector<std::string>{"nothing.test"});
    CHECK(obs.addresses.empty());
    CHECK(obs.address_owner() == "nothing.test");
}

TEST_CASE("follow_answer: thousands of records in one answer", "[observation]") {
    std::vector<Record> answer;
    // Noise first, then a chain, then the addresses of the chain's end.
    for (int i = 0; i < 3000; ++i)
        answer.push_back(a_record("noise" + std::to_string(i) + ".test", fgtest::unknown_v4(i)));
    answer.push_back(cname_record("big.alias.test", "big.flux.test"));
    for (int i = 0; i < 4000; ++i)
        answer.push_back(a_record("big.flux.test", fgtest::flux_v4(i % 10 + 1, i / 10 % 250 + 1)));
    const auto obs = follow("big.alias.test", answer);
    CHECK(obs.chain == std::vector<std::string>{"big.alias.test", "big.flux.test"});
    REQUIRE(obs.addresses.size() == 4000);
    CHECK(obs.addresses.front().address.to_string() == "198.18.1.1");
    CHECK(obs.addresses.back().address.to_string() == fgtest::flux_v4(10, 399 % 250 + 1));
}
