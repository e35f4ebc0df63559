#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"
#include "helpers.h"
#include "unit.h"

using Catch::Matchers::Contains;
using fgtest::rotating_v4;
using fluxguard::Config;
using fluxguard::Engine;
using fluxguard::LogLevel;
using fluxguard::Observation;
using fluxguard::Policy;
using nlohmann::json;

namespace {

constexpr std::int64_t t0 = 1700000000;

Config engine_config(Policy policy, std::vector<std::string> allow = {}) {
    Config c;
    c.path = "unit-test.conf";
    c.policy = policy;
    c.asn_database = fgtest::asn_db();
    c.country_database = fgtest::country_db();
    if (policy == Policy::sinkhole) c.sinkhole_ipv4 = fgtest::ip("192.0.2.53");
    c.allow = std::move(allow);
    return c;
}

struct Log {
    std::vector<std::pair<LogLevel, std::string>> lines;
    fluxguard::LogSink sink() {
        return [this](LogLevel level, std::string_view text) {
            lines.emplace_back(level, std::string(text));
        };
    }
};

// The resolution (1-based) at which one new rotating flux address per
// resolution first crosses the threshold, by the documented score.
int expected_crossing(const fluxguard::ScoringConfig& c) {
    fgtest::History h;
    for (int r = 1; r <= 1000; ++r) {
        h.resolve({rotating_v4(r - 1)});
        if (r >= static_cast<int>(c.min_resolutions) && h.score(c) > c.threshold) return r;
    }
    return 0;
}

// Feeds `count` resolutions of `qname` (one new rotating address each) and
// returns the 1-based resolution numbers whose outcome carried new_block;
// `first_block` receives the first such evidence.
std::vector<int> drive(Engine& engine, const std::string& qname, int count,
                       std::optional<fluxguard::Evidence>* first_block = nullptr) {
    std::vector<int> blocks;
    for (int r = 1; r <= count; ++r) {
        auto outcome = engine.observe(fgtest::resolution(t0 + r, qname, {rotating_v4(r - 1)}));
        if (!outcome.new_block) continue;
        blocks.push_back(r);
        if (first_block && !*first_block) *first_block = std::move(outcome.new_block);
    }
    return blocks;
}

std::string blocked_domain(const Engine& engine, std::string_view name) {
    auto b = engine.blocked(name);
    return b ? b->domain : "";
}

}  // namespace

// Records the engine's cache purges, and whether each came while the block
// of `watched` was already visible to a resolver worker.
struct Purges {
    std::vector<std::pair<std::string, bool>> calls;
    const Engine* engine = nullptr;
    std::string watched = "flux.test";
    fluxguard::CachePurge sink() {
        return [this](const std::string& name) {
            calls.emplace_back(name, engine && engine->blocked(watched).has_value());
        };
    }
    std::vector<std::string> names(bool when_blocked) const {
        std::vector<std::string> out;
        for (const auto& [name, blocked] : calls)
            if (blocked == when_blocked) out.push_back(name);
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST_CASE("engine: policy nxdomain flags and blocks the registrable domain", "[engine]") {
    Log log;
    Purges purges;
    Engine engine(engine_config(Policy::nxdomain), log.sink(), purges.sink());
    purges.engine = &engine;
    const int expected = expected_crossing(engine.config().scoring);
    REQUIRE(expected > 0);

    std::optional<fluxguard::Evidence> ev;
    CHECK(drive(engine, "www.flux.test", expected - 1, &ev).empty());
    CHECK(log.lines.empty());
    CHECK_FALSE(engine.blocked("www.flux.test"));

    // The crossing resolution, then many more: new_block exactly once.
    const auto blocks = drive(engine, "www.flux.test", expected + 40, &ev);
    REQUIRE(blocks.size() == 1);
    REQUIRE(ev);
    CHECK(ev->domain == "flux.test");
    CHECK(ev->trigger_name == "www.flux.test");
    CHECK(log.lines.size() == 1);
    // Its names left the cache before the block showed and after; the
    // resolutions after the block were blocked by the resolver, not scored
    // here, yet each is purged again (cheap, and the race is not knowable).
    const std::vector<std::string> seen{"flux.test", "www.flux.test"};
    CHECK(purges.names(false) == seen);
    const auto after = purges.names(true);
    const auto scored_after_block = expected + 40 - blocks[0];
    CHECK(std::count(after.begin(), after.end(), "www.flux.test") == 1 + scored_after_block);

    CHECK(engine.blocklist().size() == 1);
    for (const char* name : {"flux.test", "www.flux.test", "a.b.c.flux.test"}) {
        INFO(name);
        const auto b = engine.blocked(name);
        REQUIRE(b);
        CHECK(b->domain == "flux.test");
        CHECK(b->score == ev->score);
        CHECK(b->since == ev->time);
        CHECK_THAT(b->reason, Contains("flux.test"));
    }
    for (const char* name :
         {"xflux.test", "www.xflux.test", "test", "static.test", "flux.test.other"}) {
        INFO(name);
        CHECK_FALSE(engine.blocked(name));
    }
}

TEST_CASE("engine: policy sinkhole blocks too", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::sinkhole), log.sink());
    CHECK(drive(engine, "www.flux.test", 40).size() == 1);
    CHECK(blocked_domain(engine, "www.flux.test") == "flux.test");
    REQUIRE(log.lines.size() == 1);
    CHECK(json::parse(log.lines[0].second)["action"] == "block");
}

TEST_CASE("engine: policy monitor logs the verdict but blocks nothing", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::monitor), log.sink());
    const int expected = expected_crossing(engine.config().scoring);
    REQUIRE(expected > 0);
    // Resolution by resolution: the verdict line appears at the crossing.
    for (int r = 1; r <= expected + 40; ++r) {
        const auto outcome =
            engine.observe(fgtest::resolution(t0 + r, "www.flux.test", {rotating_v4(r - 1)}));
        CHECK_FALSE(outcome.new_block);
        CHECK(log.lines.size() == (r < expected ? 0u : 1u));
    }
    REQUIRE(log.lines.size() == 1);
    CHECK(log.lines[0].first == LogLevel::info);
    const json j = json::parse(log.lines[0].second);
    CHECK(j["action"] == "monitor");
    CHECK(j["domain"] == "flux.test");
    CHECK(j["resolutions"] == expected);
    CHECK(engine.blocklist().size() == 0);
    CHECK_FALSE(engine.blocked("www.flux.test"));
    CHECK_FALSE(engine.blocked("flux.test"));
}

TEST_CASE("engine: the verdict line is JSON with the evidence", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::nxdomain), log.sink());
    const int expected = expected_crossing(engine.config().scoring);
    std::optional<fluxguard::Evidence> ev;
    REQUIRE(drive(engine, "www.flux.test", expected, &ev) == std::vector<int>{expected});
    REQUIRE(ev);
    REQUIRE(log.lines.size() == 1);
    const std::string& line = log.lines[0].second;
    CHECK(line.find('\n') == std::string::npos);

    const json j = json::parse(line);
    CHECK(j["event"] == "fluxguard_verdict");
    CHECK(j["action"] == "block");
    CHECK(j["domain"] == "flux.test");
    CHECK(j["trigger"] == "www.flux.test");
    CHECK(j["resolutions"] == expected);
    const double score = j["score"];
    CHECK(score == Approx(ev->score));
    double sum = 0;
    std::set<std::string> features;
    for (const auto& p : j["parts"]) {
        features.insert(p["feature"].get<std::string>());
        const double contribution = p["contribution"];
        CHECK(contribution == Approx(p["value"].get<double>() * p["weight"].get<double>() *
                                     p["factor"].get<double>()));
        sum += contribution;
    }
    CHECK(sum == Approx(score));
    for (const char* f : {"distinct_addresses", "distinct_asns", "distinct_countries", "bias"}) {
        INFO(f);
        CHECK(features.count(f) == 1);
    }
    fgtest::History h;
    for (int k = 0; k < expected; ++k) h.resolve({rotating_v4(k)});
    CHECK(score == Approx(h.score(engine.config().scoring)));

    REQUIRE(j["addresses"].size() == static_cast<std::size_t>(expected));
    std::set<std::string> seen;
    for (int k = 0; k < expected; ++k) {
        const auto& a = j["addresses"][static_cast<std::size_t>(k)];
        const std::string address = a["ip"];
        seen.insert(address);
        INFO(address);
        const auto want = fgtest::plan_geo(address);
        CHECK(a["asn"] == want.asn);
        CHECK(a["country"] == want.country);
    }
    for (int k = 0; k < expected; ++k) CHECK(seen.count(rotating_v4(k)) == 1);
    CHECK(j["names"] == json{"www.flux.test"});
}

TEST_CASE("engine: the allowlist prevents scoring and blocking", "[engine]") {
    SECTION("the domain itself") {
        Log log;
        Engine engine(engine_config(Policy::nxdomain, {"flux.test"}), log.sink());
        CHECK(drive(engine, "www.flux.test", 100).empty());
        CHECK(drive(engine, "flux.test", 100).empty());
        CHECK(log.lines.empty());
        CHECK(engine.tracked_domains() == 0);
        CHECK_FALSE(engine.blocked("www.flux.test"));
    }
    SECTION("a name below a blocked domain") {
        Log log;
        Engine engine(engine_config(Policy::nxdomain, {"safe.flux.test"}), log.sink());
        CHECK(drive(engine, "www.safe.flux.test", 100).empty());
        CHECK(engine.tracked_domains() == 0);
        CHECK(drive(engine, "www.flux.test", 100).size() == 1);
        CHECK(blocked_domain(engine, "www.flux.test") == "flux.test");
        CHECK(blocked_domain(engine, "flux.test") == "flux.test");
        CHECK_FALSE(engine.blocked("safe.flux.test"));
        CHECK_FALSE(engine.blocked("a.safe.flux.test"));
        CHECK(blocked_domain(engine, "unsafe.flux.test") == "flux.test");
    }
    SECTION("an allowed name anywhere in the CNAME chain") {
        Log log;
        Engine engine(engine_config(Policy::nxdomain, {"alias.test"}), log.sink());
        for (int r = 1; r <= 100; ++r) {
            Observation obs;
            obs.time = t0 + r;
            obs.qname = "www.alias.test";
            fluxguard::follow_answer(obs,
                                     std::vector<fluxguard::Record>{
                                         fgtest::cname_record("www.alias.test", "edge.flux.test"),
                                         fgtest::a_record("edge.flux.test", rotating_v4(r - 1))});
            REQUIRE(obs.addresses.size() == 1);
            CHECK_FALSE(engine.observe(obs).new_block);
        }
        CHECK(engine.tracked_domains() == 0);
        CHECK(log.lines.empty());
    }
}

TEST_CASE("engine: a CNAME chain from a clean name is attributed to its end", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::nxdomain), log.sink());
    const int expected = expected_crossing(engine.config().scoring);
    REQUIRE(expected > 0);
    int blocked_at = 0;
    std::optional<fluxguard::Evidence> ev;
    for (int r = 1; r <= expected + 20; ++r) {
        Observation obs;
        obs.time = t0 + r;
        obs.qname = "www.alias.test";
        obs.qtype = fluxguard::type_a;
        fluxguard::follow_answer(obs, std::vector<fluxguard::Record>{
                                          fgtest::cname_record("www.alias.test", "edge.flux.test"),
                                          fgtest::a_record("edge.flux.test", rotating_v4(r - 1))});
        auto outcome = engine.observe(obs);
        if (outcome.new_block) {
            CHECK(blocked_at == 0);
            blocked_at = r;
            ev = std::move(outcome.new_block);
        }
    }
    CHECK(blocked_at == expected);
    REQUIRE(ev);
    CHECK(ev->domain == "flux.test");
    CHECK(ev->trigger_name == "www.alias.test");
    CHECK(ev->names == std::vector<std::string>{"www.alias.test", "edge.flux.test"});
    CHECK(engine.tracked_domains() == 1);  // flux.test only, not alias.test
    CHECK(blocked_domain(engine, "edge.flux.test") == "flux.test");
    CHECK_FALSE(engine.blocked("www.alias.test"));
    REQUIRE(log.lines.size() == 1);
    CHECK(json::parse(log.lines[0].second)["names"] == json{"www.alias.test", "edge.flux.test"});
}

TEST_CASE("engine: names under one registrable domain add up", "[engine]") {
    Log log;
    const int expected = expected_crossing(engine_config(Policy::nxdomain).scoring);
    REQUIRE(expected >= 3);
    // Each resolution under a fresh throw-away name; public suffixes from the
    // PSL (co.uk) are honoured. One engine per base, so the flux pool of the
    // first does not speed up the second.
    for (const std::string base : {"flux.test", "flux.co.uk"}) {
        Engine engine(engine_config(Policy::nxdomain), log.sink());
        int blocked_at = 0;
        std::optional<fluxguard::Evidence> ev;
        for (int r = 1; r <= expected + 5 && !blocked_at; ++r) {
            const std::string name = "n" + std::to_string(r) + "." + base;
            auto outcome = engine.observe(fgtest::resolution(t0 + r, name, {rotating_v4(r - 1)}));
            if (outcome.new_block) {
                blocked_at = r;
                ev = std::move(outcome.new_block);
            }
        }
        INFO(base);
        CHECK(blocked_at == expected);
        REQUIRE(ev);
        CHECK(ev->domain == base);
        CHECK(ev->names.size() == static_cast<std::size_t>(expected));
        CHECK(blocked_domain(engine, "other." + base) == base);
        CHECK(engine.tracked_domains() == 1);
        CHECK_FALSE(engine.blocked("co.uk"));
        CHECK_FALSE(engine.blocked("other.co.uk"));
        CHECK_FALSE(engine.blocked("test"));
    }
}

TEST_CASE("engine: blocks and unblocks decided elsewhere (fleet, operator)", "[engine]") {
    Log log;
    Purges purges;
    Engine engine(engine_config(Policy::nxdomain, {"allowed.test"}), log.sink(), purges.sink());
    purges.engine = &engine;
    // Seen resolving here, not flagged.
    CHECK_FALSE(engine.observe(fgtest::resolution(t0, "a.flux.test", {rotating_v4(0)})).new_block);
    CHECK_FALSE(
        engine.observe(fgtest::resolution(t0 + 1, "b.flux.test", {rotating_v4(1)})).new_block);
    CHECK(purges.calls.empty());

    const fluxguard::FleetBlock block{"flux.test", 42.5, t0 + 5, "operator", "operator: flux", ""};
    CHECK(engine.apply_block(block));
    // The names seen resolving, and the domain, leave the cache before the
    // block shows (no client that saw the block gets them from the cache
    // afterwards) and again after (for answers cached in between).
    const std::vector<std::string> seen{"a.flux.test", "b.flux.test", "flux.test"};
    CHECK(purges.names(false) == seen);
    CHECK(purges.names(true) == seen);
    const auto b = engine.blocked("www.flux.test");
    REQUIRE(b);
    CHECK(b->domain == "flux.test");
    CHECK(b->reason == "operator: flux");
    CHECK(b->score == 42.5);
    CHECK(b->since == t0 + 5);
    purges.calls.clear();
    CHECK_FALSE(engine.apply_block(block));  // already blocked
    CHECK(purges.calls.empty());

    // An answer scored after the block went out before it (it waited to be
    // scored): its names are purged, since the block's purges may have come
    // before the scorer knew them.
    auto late = fgtest::resolution(t0 + 6, "c.flux.test", {rotating_v4(2)});
    late.chain = {"c.alias.test", "c.flux.test"};
    CHECK_FALSE(engine.observe(late).new_block);
    CHECK(purges.names(true) == std::vector<std::string>{"c.alias.test", "c.flux.test"});

    // Already blocked: local resolutions do not flag it again.
    CHECK(drive(engine, "www.flux.test", 60).empty());
    CHECK(log.lines.empty());

    // A domain never seen here: just the domain to purge.
    purges.calls.clear();
    purges.watched = "other.test";
    CHECK(engine.apply_block({"other.test", 1, t0, "feed", "feed", ""}));
    CHECK(purges.names(false) == std::vector<std::string>{"other.test"});
    CHECK(purges.names(true) == std::vector<std::string>{"other.test"});
    CHECK(blocked_domain(engine, "x.other.test") == "other.test");
    // Allowlisted: refused, nothing purged.
    purges.calls.clear();
    CHECK_FALSE(engine.apply_block({"allowed.test", 1, t0, "feed", "feed", ""}));
    CHECK_FALSE(engine.blocked("allowed.test"));
    CHECK(purges.calls.empty());

    CHECK(engine.apply_unblock("flux.test"));
    CHECK_FALSE(engine.blocked("www.flux.test"));
    CHECK_FALSE(engine.apply_unblock("flux.test"));
    CHECK(blocked_domain(engine, "x.other.test") == "other.test");
}

TEST_CASE("engine: policy monitor ignores blocks from elsewhere", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::monitor), log.sink());
    CHECK_FALSE(engine.apply_block({"flux.test", 1, t0, "feed", "feed", ""}));
    CHECK_FALSE(engine.blocked("flux.test"));
    CHECK(engine.blocklist().size() == 0);
}

// BUG (scoring/engine.cpp, Engine::apply_unblock, with FluxScorer::forget in
// scoring/flux_scorer.cpp): an operator's unblock forgets the domain's state
// but its addresses stay in the flux pool that join_pools() filled when it was
// flagged, so the very next resolution with its usual answer blocks it again
// (pool match "decisive": min-resolutions skipped, +weight-pool).
TEST_CASE("engine: an unblocked domain is not blocked again by its next resolution",
          "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::nxdomain), log.sink());
    std::vector<std::string> answer;
    for (int n = 1; n <= 10; ++n) answer.push_back(fgtest::flux_v4(n, 1));
    CHECK_FALSE(engine.observe(fgtest::resolution(t0, "www.flux.test", answer)).new_block);
    REQUIRE(engine.observe(fgtest::resolution(t0 + 1, "www.flux.test", answer)).new_block);
    REQUIRE(engine.apply_unblock("flux.test"));
    REQUIRE(engine.config().scoring.min_resolutions > 1);
    CHECK_FALSE(engine.observe(fgtest::resolution(t0 + 2, "www.flux.test", answer)).new_block);
    CHECK_FALSE(engine.blocked("www.flux.test"));
}

TEST_CASE("engine: unusable geo databases are refused", "[engine]") {
    Log log;
    Config c = engine_config(Policy::nxdomain);
    c.country_database = fgtest::fixture("missing-country.mmdb");
    CHECK_THROWS_AS(Engine(c, log.sink()), fluxguard::GeoError);
    c = engine_config(Policy::nxdomain);
    c.asn_database = fgtest::country_db();
    CHECK_THROWS_AS(Engine(c, log.sink()), fluxguard::GeoError);
}

TEST_CASE("engine: observations without addresses are ignored", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::nxdomain), log.sink());
    for (int r = 0; r < 50; ++r) {
        auto obs = fgtest::resolution(t0 + r, "www.flux.test", {});
        obs.rcode = 3;
        CHECK_FALSE(engine.observe(obs).new_block);
    }
    CHECK(engine.tracked_domains() == 0);
    CHECK(log.lines.empty());
}

TEST_CASE("engine: the operators' allow list from the fleet store is honoured", "[engine]") {
    Log log;
    Engine engine(engine_config(Policy::nxdomain), log.sink());
    std::vector<std::string> answer;
    for (int n = 1; n <= 10; ++n) answer.push_back(fgtest::flux_v4(n, 1));
    engine.set_operator_allow_list({"Flux.Test.", "not a name!"});
    CHECK_FALSE(engine.observe(fgtest::resolution(t0, "www.flux.test", answer)).new_block);
    CHECK_FALSE(engine.observe(fgtest::resolution(t0 + 1, "a.flux.test", answer)).new_block);
    CHECK_FALSE(engine.apply_block({"flux.test", 1.0, t0, "operator", "test", ""}));
    CHECK_FALSE(engine.blocked("www.flux.test"));
    // A new list replaces the old one: the domain is scored again.
    engine.set_operator_allow_list({});
    CHECK_FALSE(engine.observe(fgtest::resolution(t0 + 2, "www.flux.test", answer)).new_block);
    CHECK(engine.observe(fgtest::resolution(t0 + 3, "www.flux.test", answer)).new_block);
    CHECK(engine.blocked("www.flux.test"));
}
