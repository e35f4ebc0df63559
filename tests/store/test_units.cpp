// Pure parts of the store, no Redis: key encoding, options, the pub/sub
// message codec, the instance's identity, backoff.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>

#include "backoff.h"
#include "fleet_events.h"
#include "fleet_instance.h"
#include "fleet_script.h"
#include "harness.h"
#include "key_layout.h"
#include "redis_options.h"

using fluxguard::KeyLayout;

namespace {

// Domain names an attacker might use to reach someone else's keys.
std::vector<std::string> hostile_names() {
    using namespace std::string_literals;
    return {"evil.example",
            "EVIL.example",
            "fluxguard:",
            "fluxguard:blocked",
            "blocked",
            "pool:addr",
            "events",
            "{",
            "}",
            "{}",
            "a}:addr",
            "evil.example}:meta",
            "x{evil.example}",
            "block:{evil.example}",
            "a b",
            "a:b",
            ":",
            "%",
            "%41",
            "A",
            "a",
            "\0"s,
            "a\0b"s,
            "\xff",
            "\xff\xfe\x80",
            "*\r\n$4\r\nPING\r\n",
            "evil.example\n"};
}

}  // namespace

TEST_CASE("domain encoding is injective and never leaves the hash tag", "[store][layout]") {
    const auto names = hostile_names();
    std::set<std::string> encoded;
    for (const auto& n : names) {
        const auto e = KeyLayout::encode_domain(n);
        INFO("domain bytes: " << e);
        CHECK(e.find_first_of("{}: \r\n") == std::string::npos);
        for (unsigned char c : e) CHECK((c > 0x20 && c < 0x7f));
        CHECK(KeyLayout::decode_domain(e) == n);
        encoded.insert(e);
    }
    CHECK(encoded.size() == names.size());
    CHECK(KeyLayout::encode_domain("evil.example") == "evil.example");
    CHECK(KeyLayout::encode_domain("a b{}") == "a%20b%7B%7D");
    CHECK(KeyLayout::encode_domain("%41") == "%2541");
}

TEST_CASE("decode accepts only what encode produces", "[store][layout]") {
    CHECK_FALSE(KeyLayout::decode_domain("%41"));  // 'A' is never escaped
    CHECK_FALSE(KeyLayout::decode_domain("%7b"));  // lower-case hex is never produced
    CHECK_FALSE(KeyLayout::decode_domain("%2"));   // truncated
    CHECK_FALSE(KeyLayout::decode_domain("a{b"));  // not in the alphabet
    CHECK(KeyLayout::decode_domain("%7B") == std::string("{"));
}

TEST_CASE("keys of hostile domains stay in their own tag and never equal a global key",
          "[store][layout]") {
    KeyLayout layout("fluxguard:");
    std::set<std::string> all{layout.blocked(), layout.pool_addr(), layout.pool_ns(),
                              layout.instances()};
    std::size_t expected = all.size();
    for (const auto& n : hostile_names()) {
        const auto k = layout.domain_keys(n);
        const std::string tag = "{" + KeyLayout::encode_domain(n) + "}";
        for (const auto* key : {&k.addr, &k.pfx, &k.asn, &k.cc, &k.ns, &k.meta}) {
            // The first '{' and the next '}' delimit exactly the encoded name.
            const auto open = key->find('{');
            CHECK(key->substr(open, key->find('}', open) - open + 1) == tag);
            CHECK(layout.domain_of(*key) == n);
            all.insert(*key);
        }
        CHECK(layout.domain_of(layout.block_key(n)) == n);
        all.insert(layout.block_key(n));
        // The same bytes as an instance id (a host name is not ours to trust).
        const auto instance = layout.instance_key(n);
        CHECK(instance == "fluxguard:instance:" + tag);
        CHECK_FALSE(layout.domain_of(instance));
        all.insert(instance);
        expected += 8;
    }
    CHECK(all.size() == expected);
    CHECK_FALSE(layout.domain_of(layout.blocked()));
    CHECK_FALSE(layout.domain_of(layout.pool_addr()));
}

TEST_CASE("instance ids keep the host's bytes, connection names only safe ones",
          "[store][registry]") {
    const auto self = fluxguard::FleetInstance::this_process();
    CHECK_FALSE(self.host.empty());
    CHECK(self.pid == ::getpid());
    CHECK(self.started > 1700000000);
    CHECK(self.id() ==
          self.host + ":" + std::to_string(self.pid) + ":" + std::to_string(self.started));
    // The same instance, however often asked.
    CHECK(fluxguard::FleetInstance::this_process().id() == self.id());
    CHECK(self.client_name() == "fluxguard-resolver-" + KeyLayout::encode_domain(self.host) + "-" +
                                    std::to_string(self.pid));
    for (const auto& host : hostile_names()) {
        const fluxguard::FleetInstance in{host, 42, 7, ""};
        INFO("host bytes: " << KeyLayout::encode_domain(host));
        CHECK(in.id() == host + ":42:7");
        // CLIENT SETNAME takes bytes 33..126 only.
        for (unsigned char c : in.client_name()) CHECK((c > 0x20 && c < 0x7f));
    }
}

TEST_CASE("validate names every bad option", "[store][options]") {
    fluxguard::RedisOptions o;
    CHECK(fluxguard::validate(o).empty());
    o.key_prefix = "fg{x}:";
    o.username = "fleet";
    o.command_timeout = std::chrono::milliseconds(0);
    o.sentinels = {{"127.0.0.1", 26379, {}}};
    o.batch_size = 0;
    const auto problems = fluxguard::validate(o);
    REQUIRE(problems.size() == 5);
    CHECK(problems[0].find("sentinel-master") != std::string::npos);
    CHECK(problems[1].find("username 'fleet'") != std::string::npos);
    CHECK(problems[2].find("key-prefix 'fg{x}:'") != std::string::npos);
    CHECK(problems[3].find("command-timeout 0ms") != std::string::npos);
    CHECK(problems[4].find("batch-size 0") != std::string::npos);

    fluxguard::RedisOptions secret;
    secret.password = "hunter2";
    CHECK(fluxguard::describe(secret).find("hunter2") == std::string::npos);
}

TEST_CASE("endpoints parse from configuration text", "[store][options]") {
    using fluxguard::parse_endpoint;
    CHECK(parse_endpoint("redis.internal:6380") ==
          fluxguard::RedisEndpoint{"redis.internal", 6380, {}});
    CHECK(parse_endpoint("10.0.0.1") == fluxguard::RedisEndpoint{"10.0.0.1", 6379, {}});
    CHECK(parse_endpoint("[::1]:7000") == fluxguard::RedisEndpoint{"::1", 7000, {}});
    CHECK(parse_endpoint("::1") == fluxguard::RedisEndpoint{"::1", 6379, {}});
    CHECK(parse_endpoint("/run/redis/redis.sock")->unix_path == "/run/redis/redis.sock");
    CHECK_FALSE(parse_endpoint("host:0"));
    CHECK_FALSE(parse_endpoint("host:65536"));
    CHECK_FALSE(parse_endpoint("host:x"));
    CHECK_FALSE(parse_endpoint(""));
    CHECK_FALSE(parse_endpoint("[::1"));
}

TEST_CASE("pub/sub messages carry any domain bytes and reject garbage", "[store][events]") {
    for (const auto& n : hostile_names()) {
        fluxguard::FleetBlock b{n, 32.25, 1732600000, "detected", "fast flux, 9 ASNs", "{\"a\":1}"};
        auto decoded = fluxguard::decode_event(fluxguard::encode_event(b));
        REQUIRE(decoded);
        const auto* got = std::get_if<fluxguard::FleetBlock>(&*decoded);
        REQUIRE(got);
        CHECK(got->domain == n);
        CHECK(got->score == 32.25);
        CHECK(got->since == 1732600000);
        CHECK(got->reason == "fast flux, 9 ASNs");
        CHECK(got->evidence_json == "{\"a\":1}");

        auto u = fluxguard::decode_event(
            fluxguard::encode_event(fluxguard::FleetUnblock{n, "fp", "alice"}));
        REQUIRE(u);
        CHECK(std::get<fluxguard::FleetUnblock>(*u).domain == n);
    }
    CHECK(fluxguard::encode_event(fluxguard::FleetUnblock{"evil.example", "fp", "ops"}) ==
          "unblock 12:evil.example,2:fp,3:ops,");
    for (std::string bad :
         {"", "block ", "block 3:abc,", "block 99:abc,", "unblock 3:abc,1:x,1:y",
          "unblock 0:,0:,0:,", "block 1:a,3:nan,1:1,0:,0:,0:,", "block 1:a,1:1,1:1,0:,0:,0:,0:,",
          "hello", "unblock -1:a,0:,0:,", "unblock 99999999999:a,0:,0:,"})
        CHECK_FALSE(fluxguard::decode_event(bad));
}

TEST_CASE("merge arguments hold each member once and skip unknowns", "[store][script]") {
    KeyLayout layout("fluxguard:");
    auto u =
        fgstore::update("evil.example", {"198.18.1.1", "198.18.1.1", "198.18.1.2", "2001:db8:5::1"},
                        {"ns1.evil.example", "ns1.evil.example", ""});
    fluxguard::Sighting unknown;
    unknown.address = fgstore::ip("10.0.0.1");
    u.addresses.push_back(unknown);
    const auto argv = fluxguard::fleet_script::merge("sha", layout, u, {});
    // EVALSHA sha 6 <6 keys> merge time min_ttl ttl max | 4 addrs | 3 nets | 2 ASNs | 2 cc | 1 ns
    //   | 2 continents
    REQUIRE(argv.size() == 9 + 5 + (1 + 4) + (1 + 3) + (1 + 2) + (1 + 2) + (1 + 1) + (1 + 2));
    CHECK(argv[14] == "4");
    CHECK(argv[15] == std::string("\x0a\x00\x00\x01", 4));
    CHECK(argv[19] == "3");
    CHECK(argv[23] == "2");
    CHECK(argv[26] == "2");
    CHECK(argv[29] == "1");
    CHECK(argv[30] == "ns1.evil.example");
    CHECK(argv[31] == "2");
    CHECK(argv[32] == "AS");
    CHECK(argv[33] == "EU");
    CHECK(fluxguard::fleet_script::packed_network(fgstore::ip("2001:db8:5::1")).size() == 6);
}

TEST_CASE("backoff doubles up to its cap, with jitter below each step", "[store][backoff]") {
    using namespace std::chrono_literals;
    fluxguard::Backoff b(100ms, 1000ms);
    const std::chrono::milliseconds ceilings[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
    for (auto c : ceilings) {
        const auto d = b.next();
        CHECK(d <= c);
        CHECK(d >= c / 2);
    }
    b.reset();
    CHECK(b.next() <= 100ms);
}
