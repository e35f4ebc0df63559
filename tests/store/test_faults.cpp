// Every Redis failure the store must survive: absent at start, killed,
// restarted empty, paused, slow, out of memory, wrong password, script cache
// flushed. In each, submit() keeps returning at once (the probe measures the
// slowest call), the store reports the trouble in a few log lines, and merges
// again once Redis is back.
#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "harness.h"
#include "key_layout.h"

using namespace fgstore;
using fluxguard::RedisFleetStore;

namespace {

// A correctness bound, not a speed target: submit() never waits on Redis.
constexpr auto kMaxSubmit = 5ms;

bool connected(const RedisFleetStore& s) { return s.stats().connected; }

// Submits a fresh domain and waits for its merged view: the store works.
bool merges(RedisFleetStore& store, Recorder& rec, const std::string& domain,
            std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Retry: an update queued just before a failure may be lost with it.
    while (std::chrono::steady_clock::now() < deadline) {
        store.submit(update(domain, flux_addresses(9, 1, 2)));
        if (wait_until([&] { return rec.view(domain).has_value(); }, 300ms)) return true;
    }
    return false;
}

void report(const char* fault, const SubmitProbe& probe, const RedisFleetStore& store,
            const CaptureLog& log) {
    const auto s = store.stats();
    std::string lines;
    for (const auto& l : log.lines()) lines += "\n    " + l;
    WARN(fault << ": submit max " << probe.max_latency().count() << " us (raw "
               << probe.raw_max_latency().count() << " us, " << probe.preempted()
               << " preempted calls left out) over " << probe.calls() << " calls; submitted "
               << s.submitted << " dropped " << s.dropped << " errors " << s.errors
               << " round trips " << s.round_trips << "; log:" << lines);
}

}  // namespace

TEST_CASE("redis absent at start, then appearing", "[store][fault]") {
    const auto port = free_port();
    auto o = fast_options({"127.0.0.1", port, {}});
    o.queue_capacity = 500;  // small, so the test sees the bound hold
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    SubmitProbe probe(store, "probe.example", 100us);
    std::this_thread::sleep_for(800ms);
    CHECK_FALSE(connected(store));
    CHECK(store.stats().errors > 0);
    CHECK(store.stats().dropped > 0);       // the queue filled up and stayed bounded
    CHECK(store.stats().submitted <= 500);  // nothing drained while Redis was away
    CHECK(log.count("cannot use") == 1);    // one line, not one per attempt

    RedisServer redis(ServerOptions::on_port(port));
    REQUIRE(wait_until([&] { return connected(store); }, 2s));
    CHECK(merges(store, rec, "after.example"));
    probe.stop();
    report("absent at start", probe, store, log);
    CHECK(probe.max_latency() < kMaxSubmit);
    CHECK(log.contains("connected to"));
}

TEST_CASE("redis killed mid-run and restarted empty", "[store][fault]") {
    RedisServer redis;
    Recorder ra, rb;
    CaptureLog log, log_b;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log_b.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));
    REQUIRE(merges(a, ra, "before.example"));
    SubmitProbe probe(a, "probe.example");

    redis.kill();
    REQUIRE(wait_until([&] { return !connected(a); }, 2s));
    // A block decided while Redis is down is kept and published later.
    a.publish_block({"down.example", 7, now_s(), "detected", "during outage", ""});
    std::this_thread::sleep_for(700ms);
    CHECK_FALSE(connected(a));

    redis.start();  // same port, empty: no data, no scripts
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));
    CHECK(merges(a, ra, "after.example"));  // the script was loaded again
    CHECK(ra.view("after.example")->resolutions == 1);
    REQUIRE(wait_until([&] { return rb.blocked("down.example"); }, 2s));
    probe.stop();
    report("killed and restarted", probe, a, log);
    CHECK(probe.max_latency() < kMaxSubmit);
    CHECK(log.count("store: lost redis") == 1);
    CHECK_FALSE(log.contains("subscription"));  // the server is gone, said once
    CHECK(log.count("connected to") == 2);
}

TEST_CASE("redis paused with CLIENT PAUSE", "[store][fault]") {
    RedisServer redis;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(fast_options(redis.endpoint()), rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    REQUIRE(merges(store, rec, "before.example"));
    const auto errors_before = store.stats().errors;
    SubmitProbe probe(store, "probe.example");

    redis.command({"CLIENT", "PAUSE", "1500", "ALL"});
    // Commands now hang: the command timeout (250 ms) ends the wait.
    REQUIRE(wait_until([&] { return !connected(store); }, 1s));
    CHECK(store.stats().errors > errors_before);
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    CHECK(merges(store, rec, "after.example"));
    probe.stop();
    report("CLIENT PAUSE", probe, store, log);
    CHECK(probe.max_latency() < kMaxSubmit);
    CHECK(log.contains("no reply within 250 ms"));
}

TEST_CASE("redis slow: DEBUG SLEEP", "[store][fault]") {
    RedisServer redis;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(fast_options(redis.endpoint()), rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    REQUIRE(merges(store, rec, "before.example"));
    SubmitProbe probe(store, "probe.example");

    redis.command_detached({"DEBUG", "SLEEP", "1.5"});
    REQUIRE(wait_until([&] { return !connected(store); }, 1s));
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    CHECK(merges(store, rec, "after.example"));
    probe.stop();
    report("DEBUG SLEEP", probe, store, log);
    CHECK(probe.max_latency() < kMaxSubmit);
}

TEST_CASE("redis out of memory with noeviction", "[store][fault]") {
    RedisServer redis;
    Recorder ra, rb;
    CaptureLog log, log_b;
    RedisFleetStore a(fast_options(redis.endpoint()), ra.callbacks(), log.sink());
    RedisFleetStore b(fast_options(redis.endpoint()), rb.callbacks(), log_b.sink());
    REQUIRE(wait_until([&] { return connected(a) && connected(b); }, 3s));
    REQUIRE(merges(a, ra, "before.example"));
    SubmitProbe probe(a, "probe.example");

    redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    redis.command({"CONFIG", "SET", "maxmemory", "1"});
    const auto errors_before = a.stats().errors;
    REQUIRE(wait_until([&] { return a.stats().errors > errors_before + 50; }, 2s));
    a.publish_block({"oom.example", 3, now_s(), "detected", "while full", ""});
    std::this_thread::sleep_for(500ms);
    CHECK(connected(a));  // refused writes are not a broken connection
    CHECK_FALSE(rb.blocked("oom.example"));
    // Hundreds of refused writes, a handful of lines.
    CHECK(log.count("OOM") >= 1);
    CHECK(log.count("OOM") <= 4);

    redis.command({"CONFIG", "SET", "maxmemory", "0"});
    CHECK(merges(a, ra, "after.example"));
    // The block kept waiting and goes out at the next attempt (next resync).
    REQUIRE(wait_until([&] { return rb.blocked("oom.example"); }, 2s));
    probe.stop();
    report("OOM", probe, a, log);
    CHECK(probe.max_latency() < kMaxSubmit);
}

TEST_CASE("wrong password: a clear line, retries, recovery once fixed", "[store][fault]") {
    RedisServer redis(ServerOptions::with_password("right-pw"));
    auto o = fast_options(redis.endpoint());
    o.password = "wrong-secret-123";
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    SubmitProbe probe(store, "probe.example");
    REQUIRE(wait_until([&] { return store.stats().errors >= 3; }, 3s));  // it keeps trying
    CHECK_FALSE(connected(store));
    CHECK(log.count("rejected the credentials") == 1);
    CHECK(log.contains("WRONGPASS"));

    // The operator fixes Redis (or the config): the store gets in by itself.
    redis.command({"CONFIG", "SET", "requirepass", "wrong-secret-123"});
    redis.set_admin_password("wrong-secret-123");
    REQUIRE(wait_until([&] { return connected(store); }, 2s));
    CHECK(merges(store, rec, "after.example"));
    probe.stop();
    report("wrong password", probe, store, log);
    CHECK(probe.max_latency() < kMaxSubmit);
    for (const auto& line : log.lines()) {
        CHECK(line.find("wrong-secret-123") == std::string::npos);
        CHECK(line.find("right-pw") == std::string::npos);
    }
}

TEST_CASE("script cache flushed: NOSCRIPT reloads without losing the update", "[store][fault]") {
    RedisServer redis;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(fast_options(redis.endpoint()), rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    REQUIRE(merges(store, rec, "before.example"));
    redis.command({"SCRIPT", "FLUSH"});
    REQUIRE(store.submit(update("after.example", flux_addresses(1, 1, 2))));
    REQUIRE(wait_until([&] { return rec.view("after.example").has_value(); }, 1s));
    store.publish_block({"after.example", 1, now_s(), "detected", "r", ""});
    redis.command({"SCRIPT", "FLUSH"});
    store.publish_unblock("after.example", "r", "t");
    REQUIRE(wait_until([&] { return rec.unblocks_of("after.example") == 1; }, 1s));
    CHECK(store.stats().errors == 0);
    CHECK(connected(store));
}

TEST_CASE("a full queue drops and counts, and submit stays fast", "[store][fault]") {
    RedisServer redis;
    auto o = fast_options(redis.endpoint());
    o.queue_capacity = 100;
    Recorder rec;
    CaptureLog log;
    RedisFleetStore store(o, rec.callbacks(), log.sink());
    REQUIRE(wait_until([&] { return connected(store); }, 3s));
    redis.command_detached({"DEBUG", "SLEEP", "0.8"});
    std::uint64_t refused = 0;
    auto slowest = std::chrono::nanoseconds(0);
    for (int i = 0; i < 5000; ++i) {
        auto u = update("burst.example", {"198.18.1.1"});
        const auto t0 = std::chrono::steady_clock::now();
        if (!store.submit(std::move(u))) ++refused;
        slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    }
    CHECK(refused > 0);
    CHECK(store.stats().dropped == refused);
    CHECK(slowest < kMaxSubmit);
    REQUIRE(wait_until([&] { return log.contains("queue full"); }, 2s));
    CHECK_FALSE(store.submit(fluxguard::FleetUpdate{}));  // no domain: refused
}
