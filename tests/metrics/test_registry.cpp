#include <catch2/catch.hpp>
#include <cmath>
#include <thread>
#include <vector>

#include "exposition_parser.h"
#include "registry.h"

using fluxguard::metrics::Labels;
using fluxguard::metrics::Registry;

TEST_CASE("counters count and the same registration gives the same series", "[metrics]") {
    Registry r;
    auto& a = r.counter("fluxguard_resolutions_observed_total", "Resolutions observed");
    auto& b = r.counter("fluxguard_resolutions_observed_total", "Resolutions observed");
    REQUIRE(&a == &b);
    a.inc();
    b.inc(41);
    REQUIRE(a.value() == 42);
    auto p = exposition::parse(r.expose());
    REQUIRE(p.type.at("fluxguard_resolutions_observed_total") == "counter");
    REQUIRE(p.help.at("fluxguard_resolutions_observed_total") == "Resolutions observed");
    REQUIRE(p.samples.at("fluxguard_resolutions_observed_total") == 42);
}

TEST_CASE("labels are fixed at registration and escaped in the exposition", "[metrics]") {
    Registry r;
    auto& nx = r.counter("fluxguard_answers_rewritten_total", "Answers rewritten",
                         {{"policy", "nxdomain"}});
    auto& sh = r.counter("fluxguard_answers_rewritten_total", "Answers rewritten",
                         {{"policy", "sinkhole"}});
    REQUIRE(&nx != &sh);
    nx.inc(3);
    sh.inc(1);
    r.counter("odd_total", "help with \\ and\nnewline", {{"v", "a\"b\\c\nd"}}).inc();
    const auto text = r.expose();
    REQUIRE(text.find("odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
    REQUIRE(text.find("# HELP odd_total help with \\\\ and\\nnewline\n") != std::string::npos);
    auto p = exposition::parse(text);
    REQUIRE(p.samples.at("fluxguard_answers_rewritten_total{policy=\"nxdomain\"}") == 3);
    REQUIRE(p.samples.at("fluxguard_answers_rewritten_total{policy=\"sinkhole\"}") == 1);
    REQUIRE(p.help.at("odd_total") == "help with \\ and\nnewline");
}

TEST_CASE("gauges: set, add and callbacks read at scrape time", "[metrics]") {
    Registry r;
    auto& g = r.gauge("fluxguard_store_queue_length", "Updates waiting");
    g.set(10);
    g.add(-2.5);
    REQUIRE(g.value() == 7.5);
    std::atomic<int> tracked{5};
    r.gauge_callback("fluxguard_domains", "Domains by state",
                     [&] { return double(tracked.load()); }, {{"state", "tracked"}});
    r.gauge_callback("fluxguard_domains", "Domains by state", [] { return 2.0; },
                     {{"state", "blocked"}});
    r.gauge_callback("fluxguard_broken", "A callback that throws", []() -> double { throw 1; });
    auto p = exposition::parse(r.expose());
    REQUIRE(p.samples.at("fluxguard_store_queue_length") == 7.5);
    REQUIRE(p.samples.at("fluxguard_domains{state=\"tracked\"}") == 5);
    tracked = 6;
    p = exposition::parse(r.expose());
    REQUIRE(p.samples.at("fluxguard_domains{state=\"tracked\"}") == 6);
    REQUIRE(p.samples.at("fluxguard_domains{state=\"blocked\"}") == 2);
    REQUIRE(std::isnan(p.samples.at("fluxguard_broken")));
}

TEST_CASE("counters kept elsewhere are read at scrape time", "[metrics]") {
    Registry r;
    std::atomic<std::uint64_t> dropped{3};
    r.counter_callback("fluxguard_store_dropped_total", "Updates dropped (queue full)",
                       [&] { return dropped.load(); });
    REQUIRE(exposition::parse(r.expose()).samples.at("fluxguard_store_dropped_total") == 3);
    dropped = 9;
    auto p = exposition::parse(r.expose());
    REQUIRE(p.samples.at("fluxguard_store_dropped_total") == 9);
    REQUIRE(p.type.at("fluxguard_store_dropped_total") == "counter");
    REQUIRE_THROWS_AS(r.counter("fluxguard_store_dropped_total", "x"), std::invalid_argument);
    REQUIRE_THROWS_AS(
        r.counter_callback("fluxguard_store_dropped_total", "x", [] { return std::uint64_t{1}; }),
        std::invalid_argument);
}

TEST_CASE("histograms have cumulative buckets, +Inf, sum and count", "[metrics]") {
    Registry r;
    auto& h =
        r.histogram("fluxguard_redis_latency_seconds", "Redis round trips", {0.001, 0.01, 0.1});
    for (double v : {0.0005, 0.001, 0.005, 0.05, 0.5, 2.0}) h.observe(v);
    auto p = exposition::parse(r.expose());
    REQUIRE(p.type.at("fluxguard_redis_latency_seconds") == "histogram");
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_bucket{le=\"0.001\"}") ==
            2);  // le: inclusive
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_bucket{le=\"0.01\"}") == 3);
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_bucket{le=\"0.1\"}") == 4);
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_bucket{le=\"+Inf\"}") == 6);
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_count") == 6);
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_sum") == Approx(2.5565));
    REQUIRE_THROWS_AS(r.histogram("bad_buckets", "x", {0.1, 0.01}), std::invalid_argument);
    REQUIRE_THROWS_AS(r.histogram("fluxguard_redis_latency_seconds", "x", {1, 2}),
                      std::invalid_argument);
}

TEST_CASE("bad names, label names and type clashes are refused", "[metrics]") {
    Registry r;
    REQUIRE_THROWS_AS(r.counter("9lives", "x"), std::invalid_argument);
    REQUIRE_THROWS_AS(r.counter("has-dash", "x"), std::invalid_argument);
    REQUIRE_THROWS_AS(r.counter("ok_total", "x", {{"__reserved", "v"}}), std::invalid_argument);
    REQUIRE_THROWS_AS(r.counter("ok_total", "x", {{"bad-label", "v"}}), std::invalid_argument);
    r.counter("clash", "x");
    REQUIRE_THROWS_AS(r.gauge("clash", "x"), std::invalid_argument);
    r.gauge_callback("cb", "x", [] { return 1.0; });
    REQUIRE_THROWS_AS(r.gauge_callback("cb", "x", [] { return 1.0; }), std::invalid_argument);
    REQUIRE_THROWS_AS(r.gauge("cb", "x"), std::invalid_argument);
    // Nothing half-registered shows up.
    auto p = exposition::parse(r.expose());
    REQUIRE(p.type.count("9lives") == 0);
    REQUIRE(p.samples.count("ok_total") == 0);
}

TEST_CASE("counting from many threads loses nothing", "[metrics]") {
    Registry r;
    auto& c = r.counter("fluxguard_test_total", "x");
    auto& g = r.gauge("fluxguard_test_gauge", "x");
    auto& h = r.histogram("fluxguard_test_seconds", "x", Registry::latency_buckets());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100000; ++i) {
                c.inc();
                g.add(1);
                h.observe(0.003);
            }
        });
    // Scraping meanwhile sees consistent text.
    for (int i = 0; i < 50; ++i) REQUIRE_NOTHROW(exposition::parse(r.expose()));
    for (auto& t : threads) t.join();
    auto p = exposition::parse(r.expose());
    REQUIRE(p.samples.at("fluxguard_test_total") == 400000);
    REQUIRE(p.samples.at("fluxguard_test_gauge") == 400000);
    REQUIRE(p.samples.at("fluxguard_test_seconds_count") == 400000);
    REQUIRE(p.samples.at("fluxguard_test_seconds_bucket{le=\"0.0025\"}") == 0);
    REQUIRE(p.samples.at("fluxguard_test_seconds_bucket{le=\"0.005\"}") == 400000);
}
