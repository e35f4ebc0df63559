#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns_name.h"
#include "unit.h"

using fluxguard::is_at_or_below;
using fluxguard::name_from_wire;
using fluxguard::name_to_wire;
using fluxguard::normalize_name;
using fluxguard::parent_name;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::optional<std::string> from_wire(const Bytes& w) { return name_from_wire(w); }

// Wire form of the given labels (raw bytes, no escaping), with the terminator.
Bytes labels(const std::vector<std::string>& ls) {
    Bytes w;
    for (const auto& l : ls) {
        w.push_back(static_cast<std::uint8_t>(l.size()));
        w.insert(w.end(), l.begin(), l.end());
    }
    w.push_back(0);
    return w;
}

Bytes one_label_with(std::uint8_t byte) { return {3, 'a', byte, 'b', 0}; }

}  // namespace

TEST_CASE("name_from_wire: plain names, lower-cased", "[dns_name]") {
    CHECK(from_wire(labels({"www", "flux", "test"})) == "www.flux.test");
    CHECK(from_wire(labels({"WwW", "FlUx", "TEST"})) == "www.flux.test");
    CHECK(from_wire(labels({"_dmarc", "a-b", "0day"})) == "_dmarc.a-b.0day");
    CHECK(from_wire(Bytes{0}) == "");
}

TEST_CASE("name_from_wire: odd bytes are \\DDD escaped", "[dns_name]") {
    CHECK(from_wire(one_label_with(' ')) == "a\\032b");
    CHECK(from_wire(one_label_with('.')) == "a\\046b");
    CHECK(from_wire(one_label_with(0)) == "a\\000b");
    CHECK(from_wire(one_label_with(0xFF)) == "a\\255b");
    CHECK(from_wire(one_label_with('\\')) == "a\\092b");
    CHECK(from_wire(one_label_with('"')) == "a\\034b");
    CHECK(from_wire(one_label_with('\n')) == "a\\010b");
    CHECK(from_wire(one_label_with(0xC4)) == "a\\196b");  // not lower-cased as Latin-1

    // A dot inside a label and a label boundary must not collide.
    const auto one = from_wire(labels({"a.b"}));
    const auto two = from_wire(labels({"a", "b"}));
    REQUIRE(one);
    REQUIRE(two);
    CHECK(*one != *two);
    // An escaped-looking label is escaped again, so it cannot impersonate.
    const auto fake = from_wire(labels({"a\\046b"}));
    REQUIRE(fake);
    CHECK(*fake != *one);
}

TEST_CASE("name_from_wire: rejects malformed input", "[dns_name]") {
    SECTION("compression pointers") {
        CHECK_FALSE(from_wire(Bytes{0xC0, 0x0C}));
        CHECK_FALSE(from_wire(Bytes{3, 'w', 'w', 'w', 0xC0, 0x0C}));
    }
    SECTION("extended label types") {
        CHECK_FALSE(from_wire(Bytes{0x40, 0}));
        CHECK_FALSE(from_wire(Bytes{0x80, 0}));
    }
    SECTION("labels over 63 octets") {
        CHECK(from_wire(labels({std::string(63, 'a')})) == std::string(63, 'a'));
        CHECK_FALSE(from_wire(labels({std::string(64, 'a')})));
    }
    SECTION("names over 255 octets") {
        const std::string l63(63, 'a');
        // 3*64 + 62 + 1 = 255 octets: the longest legal name.
        const Bytes longest = labels({l63, l63, l63, std::string(61, 'b')});
        REQUIRE(longest.size() == 255);
        const auto text = from_wire(longest);
        REQUIRE(text);
        CHECK(text->size() == 253);
        const Bytes too_long = labels({l63, l63, l63, std::string(62, 'b')});
        REQUIRE(too_long.size() == 256);
        CHECK_FALSE(from_wire(too_long));
        // Many short labels add up too.
        std::vector<std::string> many(128, "x");  // 128 * 2 + 1 = 257
        CHECK_FALSE(from_wire(labels(many)));
    }
    SECTION("missing terminator and truncated input") {
        CHECK_FALSE(from_wire(Bytes{}));
        CHECK_FALSE(from_wire(Bytes{3, 'a', 'b', 'c'}));
        CHECK_FALSE(from_wire(Bytes{5, 'a', 'b'}));
        CHECK_FALSE(from_wire(Bytes{3, 'a', 'b', 'c', 4, 't', 'e'}));
        CHECK_FALSE(from_wire(Bytes{1}));
    }
}

TEST_CASE("name_to_wire: inverse of name_from_wire", "[dns_name]") {
    const std::vector<Bytes> inputs = {
        Bytes{0},
        labels({"www", "flux", "test"}),
        labels({"a.b", "c d", "test"}),
        Bytes{4, 0, 0xFF, '\\', '"', 1, 'x', 0},
        labels({std::string(63, 'q'), "test"}),
    };
    for (const auto& w : inputs) {
        const auto text = name_from_wire(w);
        REQUIRE(text);
        INFO("text: " << *text);
        const auto back = name_to_wire(*text);
        REQUIRE(back);
        CHECK(*back == w);
        CHECK(name_from_wire(*back) == text);
    }
    CHECK(name_to_wire("www.flux.test") == labels({"www", "flux", "test"}));
    CHECK(name_to_wire("a\\046b.test") == labels({"a.b", "test"}));
    CHECK(name_to_wire("") == Bytes{0});
}

TEST_CASE("name_to_wire: rejects invalid text", "[dns_name]") {
    CHECK_FALSE(name_to_wire("a..b"));
    CHECK_FALSE(name_to_wire(".a"));
    CHECK_FALSE(name_to_wire("a\\256b"));  // escape out of range
    CHECK_FALSE(name_to_wire("a\\12"));    // short escape
    CHECK_FALSE(name_to_wire("a\\1x2b"));  // not digits
    CHECK_FALSE(name_to_wire("a\\"));
    CHECK_FALSE(name_to_wire(std::string(64, 'a')));
    CHECK(name_to_wire(std::string(63, 'a')));
    const std::string l63(63, 'a');
    CHECK(name_to_wire(l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b')));
    CHECK_FALSE(name_to_wire(l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b')));
}

TEST_CASE("normalize_name", "[dns_name]") {
    CHECK(normalize_name("WWW.Flux.TEST.") == "www.flux.test");
    CHECK(normalize_name("www.flux.test") == "www.flux.test");
    CHECK(normalize_name("_sip._tcp.Example-1.test") == "_sip._tcp.example-1.test");
    CHECK(normalize_name(".") == "");  // the root
    SECTION("empty labels are rejected") {
        CHECK_FALSE(normalize_name("a..b"));
        CHECK_FALSE(normalize_name(".a"));
        CHECK_FALSE(normalize_name("a.."));
        CHECK_FALSE(normalize_name(".."));
    }
    SECTION("other invalid names") {
        CHECK_FALSE(normalize_name("a b.test"));
        CHECK_FALSE(normalize_name("a\\046b.test"));
        CHECK_FALSE(normalize_name("*.test"));
        CHECK_FALSE(normalize_name(std::string(64, 'a') + ".test"));
        CHECK(normalize_name(std::string(63, 'a') + ".test"));
    }
    SECTION("length limit: 253 characters of text") {
        const std::string l63(63, 'a');
        const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
        REQUIRE(longest.size() == 253);
        CHECK(normalize_name(longest) == longest);
        CHECK(normalize_name(longest + ".") == longest);
        CHECK_FALSE(normalize_name(longest + "b"));
    }
}

TEST_CASE("is_at_or_below respects label boundaries", "[dns_name]") {
    CHECK(is_at_or_below("flux.test", "flux.test"));
    CHECK(is_at_or_below("www.flux.test", "flux.test"));
    CHECK(is_at_or_below("a.b.c.flux.test", "flux.test"));
    CHECK_FALSE(is_at_or_below("xflux.test", "flux.test"));
    CHECK_FALSE(is_at_or_below("www.xflux.test", "flux.test"));
    CHECK_FALSE(is_at_or_below("flux.test", "www.flux.test"));
    CHECK_FALSE(is_at_or_below("test", "flux.test"));
    CHECK_FALSE(is_at_or_below("flux.test.evil", "flux.test"));
    CHECK_FALSE(is_at_or_below("", "flux.test"));
    CHECK(is_at_or_below("anything.at.all", ""));  // everything is under the root
}

TEST_CASE("parent_name", "[dns_name]") {
    CHECK(parent_name("a.b.c") == "b.c");
    CHECK(parent_name("b.c") == "c");
    CHECK(parent_name("c") == "");
    CHECK(parent_name("") == "");
    std::string_view n = "www.edge.flux.test";
    std::vector<std::string> walk;
    for (; !n.empty(); n = parent_name(n)) walk.emplace_back(n);
    CHECK(walk ==
          std::vector<std::string>{"www.edge.flux.test", "edge.flux.test", "flux.test", "test"});
}
