// The store against a real redis-server: merging across instances, blocks
// and unblocks over pub/sub, resync, hostile names, ACL users, databases and
// Unix sockets.
#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <set>

#include "harness.h"
#include "key_layout.h"

using namespace fgstore;
using fluxguard::FleetBlock;
using fluxguard::KeyLayout;
using fluxguard::RedisFleetStore;

namespace {

std::string str(const fluxguard::RedisReplyPtr& r) {
    REQUIRE(r);
    if (r->type == REDIS_REPLY_NIL) return "(nil)";
    return std::string(r->str, r->len);
}

bool connected(const RedisFleetStore& s) { return s.stats().connected; }

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("two instances merge their sightings into one view", "[store][redis]") {
    RedisServer redis;
    Recorder ra, rb;
    CaptureLog log;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));

    auto first = update("evil.example", concat(flux_addresses(1, 1, 5), flux_addresses(2, 1, 3)),
                        {"ns1.evil.example"}, 300);
    const auto t1 = first.time;
    REQUIRE(a.submit(first));
    REQUIRE(wait_until([&] { return ra.view("evil.example").has_value(); }, 2s));
    auto va = *ra.view("evil.example");
    CHECK(va.resolutions == 1);
    CHECK(va.distinct_addresses == 8);
    CHECK(va.distinct_prefixes == 2);
    CHECK(va.distinct_asns == 2);
    CHECK(va.distinct_countries == 2);
    CHECK(va.distinct_continents == 2);  // Ukraine (EU), Brazil (SA)
    CHECK(va.distinct_name_servers == 1);

    // The second resolver saw one address the first did too, and new ones.
    auto second =
        update("evil.example", {"198.18.2.3", "198.18.2.4", "198.18.3.1", "2001:db8:4::9"},
               {"ns1.evil.example", "ns2.evil.example"}, 60);
    fluxguard::Sighting unknown;  // no ASN, no country: counted as an address only
    unknown.address = ip("10.1.2.3");
    unknown.continent = {'X', 'X'};  // not a continent code: ignored
    second.addresses.push_back(unknown);
    REQUIRE(b.submit(second));
    REQUIRE(wait_until([&] { return rb.view("evil.example").has_value(); }, 2s));
    auto vb = *rb.view("evil.example");
    CHECK(vb.resolutions == 2);
    CHECK(vb.distinct_addresses == 8 + 4);  // 2.3 was known
    CHECK(vb.distinct_prefixes == 2 + 3);   // 198.18.3/24, 2001:db8:4::/48, 10.1.2/24
    CHECK(vb.distinct_asns == 4);           // 64601..64604, unknown not counted
    CHECK(vb.distinct_countries == 4);
    CHECK(vb.distinct_continents == 3);  // and Asia (India, China)
    CHECK(vb.distinct_name_servers == 2);
    CHECK(vb.min_ttl == 60);
    CHECK(vb.first_seen == t1);

    // The state is where store/README.md says, with the entry TTL.
    const KeyLayout layout("fluxguard:");
    const auto keys = layout.domain_keys("evil.example");
    CHECK(str(redis.command({"HGET", keys.meta, "resolutions"})) == "2");
    CHECK(str(redis.command({"HGET", keys.meta, "c:AS"})) == std::to_string(second.time));
    CHECK(redis.command({"HEXISTS", keys.meta, "c:XX"})->integer == 0);
    CHECK(redis.command({"ZCARD", keys.addr})->integer == 12);
    const auto ttl = redis.command({"TTL", keys.addr})->integer;
    CHECK(ttl > 86000);
    CHECK(ttl <= 86400);
    CHECK(a.stats().errors == 0);
    CHECK(b.stats().errors == 0);
}

TEST_CASE("a block published by one instance reaches the others within a second",
          "[store][redis]") {
    RedisServer redis;
    Recorder ra, rb;
    CaptureLog log;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));
    // Let both finish their first resync (an empty blocked set).
    std::this_thread::sleep_for(100ms);

    REQUIRE(a.submit(update("evil.example", flux_addresses(5, 1, 3), {"ns1.evil.example"})));
    REQUIRE(wait_until([&] { return ra.view("evil.example").has_value(); }, 2s));

    const FleetBlock block{"evil.example",         42.5, now_s(), "detected", "fast flux: 9 ASNs",
                           R"({"verdict":"flux"})"};
    const auto t0 = std::chrono::steady_clock::now();
    a.publish_block(block);
    REQUIRE(wait_until([&] { return rb.blocked("evil.example"); }, 1s));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < 1s);
    auto got = *rb.block("evil.example");
    CHECK(got.score == 42.5);
    CHECK(got.since == block.since);
    CHECK(got.source == "detected");
    CHECK(got.reason == block.reason);
    CHECK(got.evidence_json == block.evidence_json);
    // Self included.
    REQUIRE(wait_until([&] { return ra.blocked("evil.example"); }, 1s));

    const KeyLayout layout("fluxguard:");
    CHECK(redis.command({"ZSCORE", layout.blocked(), "evil.example"})->type == REDIS_REPLY_STRING);
    CHECK(str(redis.command({"HGET", layout.block_key("evil.example"), "source"})) == "detected");
    // Pools: the blocked domain's addresses and name servers.
    CHECK(redis.command({"ZCARD", layout.pool_addr()})->integer == 3);
    CHECK(redis.command({"ZSCORE", layout.pool_ns(), "ns1.evil.example"})->type ==
          REDIS_REPLY_STRING);

    const auto t1 = std::chrono::steady_clock::now();
    b.publish_unblock("evil.example", "false positive", "alice");
    REQUIRE(wait_until([&] { return !ra.blocked("evil.example"); }, 1s));
    CHECK(std::chrono::steady_clock::now() - t1 < 1s);
    REQUIRE(wait_until([&] { return !rb.blocked("evil.example"); }, 1s));
    CHECK(redis.command({"EXISTS", layout.block_key("evil.example")})->integer == 0);
    CHECK(redis.command({"ZCARD", layout.blocked()})->integer == 0);
}

TEST_CASE("resync delivers blocks and unblocks whose messages were missed", "[store][redis]") {
    RedisServer redis;
    const KeyLayout layout("fluxguard:");
    Recorder ra;
    CaptureLog log;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a); }, 3s));
    a.publish_block({"early.example", 10, now_s(), "operator", "listed", ""});
    REQUIRE(wait_until([&] { return ra.blocked("early.example"); }, 1s));

    SECTION("an instance started later learns existing blocks at connect") {
        Recorder rb;
        RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log.sink());
        REQUIRE(wait_until([&] { return rb.blocked("early.example"); }, 2s));
        CHECK(rb.block("early.example")->source == "operator");
    }
    SECTION("writes without PUBLISH are picked up by the periodic resync") {
        // As an operator with redis-cli would: a bare ZADD is a block too.
        redis.command({"ZADD", layout.blocked(), std::to_string(now_s()), "quiet.example"});
        REQUIRE(wait_until([&] { return ra.blocked("quiet.example"); }, 2s));
        CHECK(ra.block("quiet.example")->source == "redis");
        redis.command({"ZREM", layout.blocked(), "early.example"});
        REQUIRE(wait_until([&] { return !ra.blocked("early.example"); }, 2s));
        CHECK(ra.unblocks_of("early.example") == 1);
        // Unchanged entries are not delivered again by later resyncs.
        std::this_thread::sleep_for(1200ms);
        CHECK(ra.blocks_of("quiet.example") == 1);
    }
    SECTION("events missed while the subscription was down") {
        Recorder rb;
        RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log.sink());
        REQUIRE(wait_until([&] { return rb.blocked("early.example"); }, 2s));
        // Kill every subscriber connection, then publish at once: b's
        // subscription is being re-established and misses the message.
        redis.command({"CLIENT", "KILL", "TYPE", "pubsub"});
        a.publish_unblock("early.example", "fp", "ops");
        REQUIRE(wait_until([&] { return !rb.blocked("early.example"); }, 2s));
    }
}

TEST_CASE("hostile domain names get distinct keys inside their own hash tag", "[store][redis]") {
    using namespace std::string_literals;
    const std::vector<std::string> names{"evil.example",
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
                                         "\0"s,
                                         "a\0b"s,
                                         "\xff",
                                         "\xff\xfe\x80",
                                         "*\r\n$4\r\nPING\r\n"};
    RedisServer redis;
    Recorder ra, rb;
    CaptureLog log;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));

    // One distinct address per name: any two names sharing keys would show
    // up as two addresses or two resolutions in one view.
    for (std::size_t i = 0; i < names.size(); ++i)
        REQUIRE(a.submit(
            update(names[i], {"198.18.7." + std::to_string(i + 1)}, {"ns." + std::to_string(i)})));
    REQUIRE(wait_until([&] { return ra.views() == names.size(); }, 3s));
    for (const auto& n : names) {
        auto v = ra.view(n);
        REQUIRE(v);
        CHECK(v->resolutions == 1);
        CHECK(v->distinct_addresses == 1);
        CHECK(v->distinct_name_servers == 1);
    }

    const KeyLayout layout("fluxguard:");
    // Every key but the registry of the two instances (test_registry.cpp).
    auto keys = redis.keys("*");
    std::erase_if(keys, [&](const std::string& k) {
        return k == layout.instances() || k.starts_with("fluxguard:instance:{");
    });
    CHECK(keys.size() == names.size() * 6);
    std::map<std::string, int> per_domain;
    for (const auto& k : keys) {
        auto d = layout.domain_of(k);
        INFO("key " << k);
        REQUIRE(d);
        ++per_domain[*d];
        // Exactly one hash tag, holding the encoded name.
        const auto open = k.find('{');
        CHECK(k.find('{', open + 1) == std::string::npos);
        CHECK(k.substr(open + 1, k.find('}') - open - 1) == KeyLayout::encode_domain(*d));
    }
    CHECK(per_domain.size() == names.size());
    for (const auto& n : names) CHECK(per_domain[n] == 6);
    CHECK(redis.command({"EXISTS", layout.blocked()})->integer == 0);

    // Blocks: raw bytes as ZSET members and in pub/sub messages.
    for (const auto& n : names) a.publish_block({n, 1, now_s(), "detected", "r", ""});
    REQUIRE(wait_until(
        [&] {
            for (const auto& n : names)
                if (!rb.blocked(n)) return false;
            return true;
        },
        2s));
    auto members = redis.command({"ZRANGE", layout.blocked(), "0", "-1"});
    std::set<std::string> in_redis;
    for (std::size_t i = 0; i < members->elements; ++i)
        in_redis.emplace(members->element[i]->str, members->element[i]->len);
    CHECK(in_redis == std::set<std::string>(names.begin(), names.end()));
    CHECK(redis.keys("fluxguard:block:*").size() == names.size());
    for (const auto& n : names) b.publish_unblock(n, "test", "t");
    REQUIRE(wait_until(
        [&] {
            return redis.command({"EXISTS", layout.blocked()})->integer == 0;
        },
        2s));
    CHECK(redis.keys("fluxguard:block:*").empty());
    CHECK(a.stats().errors == 0);
}

TEST_CASE("an ACL user with only the commands the store needs, in another database",
          "[store][redis]") {
    RedisServer redis(ServerOptions::with_password("admin-pw"));
    // The rule documented in store/README.md.
    auto r = redis.command({"ACL",
                            "SETUSER",
                            "fleet",
                            "on",
                            ">fleet-pw",
                            "resetkeys",
                            "~fluxguard:*",
                            "resetchannels",
                            "&fluxguard:events",
                            "-@all",
                            "+evalsha",
                            "+script|load",
                            "+zrange",
                            "+hgetall",
                            "+subscribe",
                            "+ping",
                            "+select",
                            "+client|setname",
                            "+zadd",
                            "+zrem",
                            "+zremrangebyscore",
                            "+zremrangebyrank",
                            "+zcard",
                            "+expire",
                            "+hmget",
                            "+hset",
                            "+del",
                            "+publish"});
    REQUIRE(str(r) == "OK");
    auto o = fast_options(redis.endpoint());
    o.username = "fleet";
    o.password = "fleet-pw";
    o.database = 3;
    Recorder ra, rb;
    CaptureLog log;
    RedisFleetStore a(o, ra.callbacks(), log.sink());
    RedisFleetStore b(o, rb.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));
    REQUIRE(a.submit(update("evil.example", flux_addresses(1, 1, 4), {"ns1.evil.example"})));
    REQUIRE(a.submit(update("evil.example", flux_addresses(2, 1, 4))));
    REQUIRE(wait_until(
        [&] {
            auto v = ra.view("evil.example");
            return v && v->resolutions == 2;
        },
        2s));
    CHECK(ra.view("evil.example")->distinct_addresses == 8);
    a.publish_block({"evil.example", 5, now_s(), "detected", "r", ""});
    REQUIRE(wait_until([&] { return rb.blocked("evil.example"); }, 1s));
    CHECK(a.stats().errors == 0);
    CHECK(redis.command({"DBSIZE"})->integer == 0);  // the admin connection is in db 0
    redis.command({"SELECT", "3"});
    CHECK(redis.command({"DBSIZE"})->integer > 0);
    // Registered (both stores of this process are one instance) and named;
    // test_registry.cpp has the details.
    CHECK(redis.command({"ZCARD", "fluxguard:instances"})->integer == 1);
    auto list = redis.command({"CLIENT", "LIST"});
    CHECK(std::string(list->str, list->len).find(" name=fluxguard-resolver-") != std::string::npos);
    for (const auto& line : log.lines()) CHECK(line.find("fleet-pw") == std::string::npos);
    CHECK(log.contains("user 'fleet'"));
}

TEST_CASE("a Unix socket address", "[store][redis]") {
    RedisServer redis(ServerOptions::with_unix_socket());
    auto o = fast_options({});
    o.address = fluxguard::RedisEndpoint{{}, 0, redis.socket_path()};
    Recorder ra;
    CaptureLog log;
    RedisFleetStore a(o, ra.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(a); }, 3s));
    REQUIRE(a.submit(update("evil.example", flux_addresses(1, 1, 3))));
    REQUIRE(wait_until([&] { return ra.view("evil.example").has_value(); }, 2s));
    a.publish_block({"evil.example", 5, now_s(), "detected", "r", ""});
    REQUIRE(wait_until([&] { return ra.blocked("evil.example"); }, 1s));
    CHECK(log.contains(redis.socket_path()));
}

TEST_CASE("members leave the window entry_ttl after last seen, and collections are capped",
          "[store][redis]") {
    RedisServer redis;
    auto o = fast_options(redis.endpoint());
    o.entry_ttl = std::chrono::seconds(100);
    o.max_members_per_domain = 3;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(store); }, 3s));

    // Seen 500 s ago (a late update from an instance that was cut off).
    auto old_update = update("window.example", {"198.18.1.1"}, {"ns-old.example"});
    old_update.time -= 500;
    REQUIRE(store.submit(old_update));
    REQUIRE(wait_until([&] { return rec.views() == 1; }, 2s));
    CHECK(rec.view("window.example")->distinct_addresses == 1);
    CHECK(rec.view("window.example")->first_seen == old_update.time);

    const auto new_update = update("window.example", {"198.18.2.1"}, {"ns-new.example"});
    REQUIRE(store.submit(new_update));
    REQUIRE(wait_until([&] { return rec.views() == 2; }, 2s));
    auto v = *rec.view("window.example");
    CHECK(v.resolutions == 2);
    CHECK(v.distinct_addresses == 1);  // 198.18.1.1 left the window
    CHECK(v.distinct_asns == 1);
    CHECK(v.distinct_continents == 1);  // Ukraine's Europe left it too: Brazil's South America
    CHECK(v.distinct_name_servers == 1);
    CHECK(v.first_seen == old_update.time);

    // A late update of South America does not move its last-seen time back.
    auto late = update("window.example", {"198.18.2.1"}, {"ns-new.example"});
    late.time = new_update.time - 50;
    REQUIRE(store.submit(late));
    REQUIRE(wait_until([&] { return rec.views() == 3; }, 2s));
    CHECK(rec.view("window.example")->distinct_continents == 1);
    const auto meta = KeyLayout("fluxguard:").domain_keys("window.example").meta;
    CHECK(redis.command({"HGET", meta, "c:SA"})->str == std::to_string(new_update.time));

    REQUIRE(store.submit(update("cap.example", flux_addresses(3, 1, 5))));
    REQUIRE(wait_until([&] { return rec.view("cap.example").has_value(); }, 2s));
    CHECK(rec.view("cap.example")->distinct_addresses == 3);
    const KeyLayout layout("fluxguard:");
    CHECK(redis.command({"ZCARD", layout.domain_keys("cap.example").addr})->integer == 3);
    CHECK(redis.command({"TTL", layout.domain_keys("cap.example").addr})->integer <= 100);
}
