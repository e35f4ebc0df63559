// The registry of resolver instances against a real redis-server: the
// heartbeat's keys, fields and expiry, the connections' names, leaving on
// shutdown, hostile host names, and stores that are not resolvers.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "fleet_instance.h"
#include "fleet_script.h"
#include "harness.h"
#include "key_layout.h"

using namespace fgstore;
using fluxguard::FleetInstance;
using fluxguard::KeyLayout;
using fluxguard::RedisFleetStore;

namespace {

std::map<std::string, std::string> hash_of(RedisServer& redis, const std::string& key) {
    auto r = redis.command({"HGETALL", key});
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2)
        out[std::string(r->element[i]->str, r->element[i]->len)] =
            std::string(r->element[i + 1]->str, r->element[i + 1]->len);
    return out;
}

// Connections whose CLIENT SETNAME is `name`.
std::size_t named(RedisServer& redis, const std::string& name) {
    auto r = redis.command({"CLIENT", "LIST"});
    const std::string list(r->str, r->len);
    std::size_t n = 0;
    for (auto at = list.find(" name=" + name + " "); at != std::string::npos;
         at = list.find(" name=" + name + " ", at + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("a store registers its instance, refreshes it and leaves on shutdown",
          "[store][redis][registry]") {
    RedisServer redis;
    const KeyLayout layout("fluxguard:");
    const auto self = FleetInstance::this_process();
    // A day of history is kept: an instance an hour gone stays in the set,
    // one two days gone is trimmed by the next heartbeat.
    const auto t0 = now_s();
    redis.command({"ZADD", layout.instances(), std::to_string(t0 - 3600), "old:1:1",
                   std::to_string(t0 - 2 * 86400), "ancient:1:1"});

    Recorder rec;
    CaptureLog log;
    auto store = std::make_unique<RedisFleetStore>(fast_options(redis.endpoint()), rec.callbacks(),
                                                   log.sink());
    const auto live = [&] {
        return redis.command({"ZCOUNT", layout.instances(), std::to_string(t0 - 90), "+inf"})
            ->integer;
    };
    REQUIRE(wait_until([&] { return live() == 1; }, 3s));

    // The member: "<host>:<pid>:<started>", scored by its last heartbeat.
    auto members = redis.command(
        {"ZRANGEBYSCORE", layout.instances(), std::to_string(t0 - 90), "+inf", "WITHSCORES"});
    REQUIRE(members->elements == 2);
    const std::string id(members->element[0]->str, members->element[0]->len);
    const std::string prefix = self.host + ":" + std::to_string(self.pid) + ":";
    REQUIRE(id.starts_with(prefix));
    const auto started = std::stoll(id.substr(prefix.size()));
    CHECK(started == self.started);
    CHECK(started <= now_s());
    CHECK(std::stoll(members->element[1]->str) >= started);
    CHECK(redis.command({"ZSCORE", layout.instances(), "old:1:1"})->type == REDIS_REPLY_STRING);
    CHECK(redis.command({"ZSCORE", layout.instances(), "ancient:1:1"})->type == REDIS_REPLY_NIL);

    // The hash: who, and the store's counters, expiring 90 s after the heartbeat.
    const auto key = layout.instance_key(id);
    CHECK(key == "fluxguard:instance:{" + KeyLayout::encode_domain(id) + "}");
    auto fields = hash_of(redis, key);
    CHECK(fields["host"] == self.host);
    CHECK(fields["pid"] == std::to_string(self.pid));
    CHECK(fields["started"] == std::to_string(started));
    CHECK(std::stoll(fields["last_seen"]) >= started);
    CHECK_FALSE(fields["version"].empty());
    CHECK(fields["submitted"] == "0");
    CHECK(fields["dropped"] == "0");
    CHECK(fields["errors"] == "0");
    const auto ttl = redis.command({"TTL", key})->integer;
    CHECK(ttl > 80);
    CHECK(ttl <= 90);

    // Both connections, the command one and the subscriber, carry the name.
    CHECK(named(redis, self.client_name()) == 2);

    // Refreshed: the counters of the next heartbeat (every resync interval,
    // 500 ms, in the tests) show the update.
    REQUIRE(store->submit(update("seen.example", {"198.18.1.1"})));
    REQUIRE(wait_until([&] { return hash_of(redis, key)["submitted"] == "1"; }, 3s));
    CHECK(store->stats().errors == 0);

    // Destroyed: gone from the set and its hash deleted at once.
    store.reset();
    CHECK(redis.command({"ZSCORE", layout.instances(), id})->type == REDIS_REPLY_NIL);
    CHECK(redis.command({"EXISTS", key})->integer == 0);
    CHECK(redis.command({"ZCARD", layout.instances()})->integer == 1);  // old:1:1
    CHECK(wait_until([&] { return named(redis, self.client_name()) == 0; }, 2s));
}

TEST_CASE("a refused CLIENT SETNAME is no error, and the instance still registers",
          "[store][redis][registry]") {
    RedisServer redis(ServerOptions::with_password("admin-pw"));
    auto r = redis.command(
        {"ACL", "SETUSER", "fleet", "on", ">fleet-pw", "~*", "&*", "+@all", "-client|setname"});
    REQUIRE(r->type == REDIS_REPLY_STATUS);
    auto o = fast_options(redis.endpoint());
    o.username = "fleet";
    o.password = "fleet-pw";
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    REQUIRE(wait_until(
        [&] {
            return redis.command({"ZCARD", "fluxguard:instances"})->integer == 1;
        },
        3s));
    CHECK(store.stats().connected);
    CHECK(store.stats().errors == 0);
    CHECK(named(redis, FleetInstance::this_process().client_name()) == 0);
}

TEST_CASE("a store that is not a resolver neither registers nor names itself",
          "[store][redis][registry]") {
    RedisServer redis;
    auto o = fast_options(redis.endpoint());
    o.register_instance = false;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    REQUIRE(store.submit(update("seen.example", {"198.18.1.1"})));
    REQUIRE(wait_until([&] { return rec.view("seen.example").has_value(); }, 3s));
    std::this_thread::sleep_for(600ms);  // more than a resync interval
    CHECK(redis.keys("fluxguard:instance*").empty());
    CHECK(named(redis, FleetInstance::this_process().client_name()) == 0);
}

TEST_CASE("the heartbeat keeps a hostile host name's bytes and its key in one hash tag",
          "[store][redis][registry]") {
    RedisServer redis;
    const KeyLayout layout("fluxguard:");
    auto sha = redis.command(fluxguard::fleet_script::load());
    REQUIRE(sha->type == REDIS_REPLY_STRING);
    using namespace std::string_literals;
    const FleetInstance evil{"evil host\n}{fluxguard:blocked}\0\xff"s, 7, 1732600000, "0.1.0"};
    fluxguard::FleetStats stats;
    stats.submitted = 5;
    const auto now = now_s();
    auto r = redis.command(fluxguard::fleet_script::heartbeat(std::string(sha->str, sha->len),
                                                              layout, evil, stats, now));
    REQUIRE(r->type == REDIS_REPLY_INTEGER);

    auto keys = redis.keys("*");
    std::sort(keys.begin(), keys.end());
    const auto key = layout.instance_key(evil.id());
    CHECK(keys == std::vector<std::string>{key, layout.instances()});
    CHECK(std::count(key.begin(), key.end(), '{') == 1);
    CHECK(std::count(key.begin(), key.end(), '}') == 1);
    auto fields = hash_of(redis, key);
    CHECK(fields["host"] == evil.host);
    CHECK(fields["submitted"] == "5");
    CHECK(fields["last_seen"] == std::to_string(now));
    CHECK(redis.command({"ZSCORE", layout.instances(), evil.id()})->type == REDIS_REPLY_STRING);
    // Redis takes the connection name built from it.
    auto named_ok = redis.command({"CLIENT", "SETNAME", evil.client_name()});
    CHECK(named_ok->type == REDIS_REPLY_STATUS);

    r = redis.command(
        fluxguard::fleet_script::leave(std::string(sha->str, sha->len), layout, evil));
    REQUIRE(r->type == REDIS_REPLY_INTEGER);
    CHECK(redis.keys("*").empty());
}
