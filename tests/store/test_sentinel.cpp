// High availability: a master, a replica and a sentinel; a forced failover
// while updates keep coming. The store must find the new master through the
// sentinel and merge there, with submit() never waiting.
#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "harness.h"
#include "key_layout.h"

using namespace fgstore;
using fluxguard::RedisFleetStore;

namespace {

std::string text(const fluxguard::RedisReplyPtr& r) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
               r->type != REDIS_REPLY_ERROR))
        return {};
    return std::string(r->str, r->len);
}

std::uint16_t master_port(RedisSentinel& sentinel, const std::string& name) {
    auto r = sentinel.command({"SENTINEL", "get-master-addr-by-name", name});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return 0;
    return static_cast<std::uint16_t>(
        std::stoi(std::string(r->element[1]->str, r->element[1]->len)));
}

}  // namespace

TEST_CASE("sentinel failover: the store follows the new master", "[store][sentinel]") {
    const std::string name = "fgmaster";
    RedisServer master;
    RedisServer replica(ServerOptions::replica_of(master.port()));
    REQUIRE(wait_until(
        [&] {
            return text(replica.command({"INFO", "replication"})).find("master_link_status:up") !=
                   std::string::npos;
        },
        5s));
    RedisSentinel sentinel(name, master.port());
    // The sentinel learns about the replica from the master's INFO.
    REQUIRE(wait_until(
        [&] {
            auto r = sentinel.command({"SENTINEL", "replicas", name});
            return r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
        },
        5s));

    auto o = fast_options({});
    o.sentinels = {sentinel.endpoint()};
    o.sentinel_master = name;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return store.stats().connected; }, 3s));
    REQUIRE(store.submit(update("before.example", flux_addresses(1, 1, 3))));
    REQUIRE(wait_until([&] { return rec.view("before.example").has_value(); }, 2s));
    CHECK(log.contains("127.0.0.1:" + std::to_string(master.port()) + " as master"));

    SubmitProbe probe(store, "probe.example");
    // FAILOVER can be refused for a moment while the sentinel still checks
    // the replica ("NOGOODSLAVE"): retry briefly.
    REQUIRE(wait_until(
        [&] {
            return text(sentinel.command({"SENTINEL", "FAILOVER", name})) == "OK";
        },
        5s));
    REQUIRE(wait_until([&] { return master_port(sentinel, name) == replica.port(); }, 10s));

    // The store ends up merging on the promoted replica.
    const fluxguard::KeyLayout layout("fluxguard:");
    const auto keys = layout.domain_keys("after.example");
    REQUIRE(wait_until(
        [&] {
            store.submit(update("after.example", flux_addresses(2, 1, 2)));
            std::this_thread::sleep_for(50ms);
            return replica.command({"EXISTS", keys.meta})->integer == 1 &&
                   text(replica.command({"INFO", "replication"})).find("role:master") !=
                       std::string::npos &&
                   rec.view("after.example").has_value();
        },
        15s));
    CHECK(log.contains("127.0.0.1:" + std::to_string(replica.port()) + " as master"));
    // Blocks flow through the new master as well.
    store.publish_block({"evil.example", 9, 1732600000, "detected", "after failover", ""});
    REQUIRE(wait_until([&] { return rec.blocked("evil.example"); }, 2s));
    probe.stop();
    std::string lines;
    for (const auto& l : log.lines()) lines += "\n    " + l;
    WARN("sentinel failover: submit max "
         << probe.max_latency().count() << " us (raw " << probe.raw_max_latency().count()
         << " us) over " << probe.calls() << " calls; errors " << store.stats().errors
         << "; log:" << lines);
    CHECK(probe.max_latency() < 5ms);
}
