// Speed and memory of the scoring core on one core, no Unbound: how many
// observations per second the engine takes, and what a tracked domain costs.
// Run: build/cmake/bench/core_bench (needs the test fixture databases).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <fmt/format.h>

#include <map>
#include <random>

#include "engine.h"

using namespace fluxguard;

namespace {

Config bench_config(std::size_t max_domains) {
    Config c;
    c.policy = Policy::nxdomain;
    c.asn_database = FLUXGUARD_FIXTURES "/test-asn.mmdb";
    c.country_database = FLUXGUARD_FIXTURES "/test-country.mmdb";
    c.scoring.max_domains = max_domains;
    return c;
}

IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    const std::uint8_t bytes[4] = {a, b, c, d};
    return IpAddress::v4(std::span<const std::uint8_t, 4>(bytes, 4));
}

// A resolver's view: mostly benign names with one to four stable addresses
// (static sites, CDN edges), and a few flux domains rotating through the
// fixture's ten flux networks.
std::vector<Observation> workload(std::size_t domains, std::size_t count, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<Observation> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        Observation obs;
        obs.time = 1700000000 + static_cast<std::int64_t>(i / 1000);
        const auto d = rng() % domains;
        const bool flux = d % 100 == 0;
        obs.qname = "www.d" + std::to_string(d) + (flux ? ".net" : ".com");
        obs.qtype = type_a;
        obs.chain = {obs.qname};
        const auto records = flux ? 3u : 1u + d % 4;
        for (std::uint32_t r = 0; r < records; ++r) {
            const auto address = flux ? v4(198, 18, static_cast<std::uint8_t>(1 + rng() % 10),
                                           static_cast<std::uint8_t>(rng()))
                                      : v4(198, 19, static_cast<std::uint8_t>(d >> 8),
                                           static_cast<std::uint8_t>(d + r));
            obs.addresses.push_back({address, flux ? 60u : 300u});
        }
        out.push_back(std::move(obs));
    }
    return out;
}

const std::vector<Observation>& built_workload(std::size_t domains) {
    // Built once per size: Google Benchmark calls each function several times.
    static std::map<std::size_t, std::vector<Observation>> built;
    if (!built.contains(domains)) built[domains] = workload(domains, 1 << 18, 1);
    return built[domains];
}

// Domains the engine already tracks: what most of a resolver's cache misses
// are (names of known domains whose TTL ran out). Every domain is observed
// once before the clock starts.
void BM_ObserveKnownDomains(benchmark::State& state) {
    const auto domains = static_cast<std::size_t>(state.range(0));
    Engine engine(bench_config(1000000), [](LogLevel, std::string_view) {});
    const auto& observations = built_workload(domains);
    for (const auto& obs : observations) engine.observe(obs);
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(engine.observe(observations[i++ & (observations.size() - 1)]));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["tracked"] = static_cast<double>(engine.tracked_domains());
}
BENCHMARK(BM_ObserveKnownDomains)->Arg(1000)->Arg(100000);

// Every observation a domain the engine does not hold, with the tracked set full at
// the default max-domains (100,000): new state, geo look-ups and an eviction
// each time. The worst case, not the usual one.
void BM_ObserveNewDomains(benchmark::State& state) {
    constexpr std::size_t cap = 100000;
    Engine engine(bench_config(cap), [](LogLevel, std::string_view) {});
    // Distinct domains, more than twice the cap: when the loop comes round
    // again, each was evicted long before.
    const auto& observations = built_workload(1 << 30);
    for (std::size_t d = 0; d < cap; ++d) engine.observe(observations[d]);
    std::size_t i = cap;
    for (auto _ : state) {
        benchmark::DoNotOptimize(engine.observe(observations[i++ & (observations.size() - 1)]));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["tracked"] = static_cast<double>(engine.tracked_domains());
}
BENCHMARK(BM_ObserveNewDomains);

// The resolver benchmark's cache-miss workloads (bench/README.md), through
// the core alone: 1,000 domains of 400 names, every name new, answering from
// four addresses per domain (range 0: "400 names per domain") or a different
// address per name (range 1: "CDN-like", ~250 addresses held per domain).
// What the module's scoring thread spends per answer there, without the
// noise of dnsperf, NSD and Unbound on the same two cores. Range 2 is range 0
// with names of 42 characters instead of 15: past std::string's inline
// buffer, as most real names are, so every copy of a name allocates (the
// resolver benchmark's names all fit it).
void BM_ObserveNewNames(benchmark::State& state) {
    const auto variant = state.range(0);
    const bool cdn_like = variant == 1;
    static std::map<std::int64_t, std::vector<Observation>> built;
    if (!built.contains(variant)) {
        auto& out = built[variant];
        for (int k = 0; k < 400; ++k)
            for (int d = 0; d < 1000; ++d) {
                Observation obs;
                obs.time = 1700000000 + static_cast<std::int64_t>(out.size() / 20000);
                obs.qname = variant == 2
                                ? fmt::format("w{:03}.static-assets.s{:04}-example-shop.test", k, d)
                                : fmt::format("w{:03}.s{:04}.test", k, d);
                obs.qtype = type_a;
                obs.chain = {obs.qname};
                const int last = cdn_like ? (k + d) % 254 + 1 : (4 * d + k % 4) % 254 + 1;
                obs.addresses.push_back({v4(192, 0, 2, static_cast<std::uint8_t>(last)), 300u});
                out.push_back(std::move(obs));
            }
    }
    const auto& observations = built[variant];
    Engine engine(bench_config(100000), [](LogLevel, std::string_view) {});
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(engine.observe(observations[i++ % observations.size()]));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["tracked"] = static_cast<double>(engine.tracked_domains());
}
// Fewer iterations than names: every name is new, as in the resolver benchmark.
BENCHMARK(BM_ObserveNewNames)->Arg(0)->Arg(1)->Arg(2)->Iterations(300000);

void BM_BlockCheck(benchmark::State& state) {
    Engine engine(bench_config(1000), [](LogLevel, std::string_view) {});
    for (const auto& obs : workload(1000, 20000, 2)) engine.observe(obs);
    for (auto _ : state) benchmark::DoNotOptimize(engine.blocked("www.d12345.com"));
    state.counters["blocked_domains"] = static_cast<double>(engine.blocklist().size());
}
BENCHMARK(BM_BlockCheck);

// Heap bytes per tracked domain: fill N distinct domains, compare mallinfo2.
void BM_BytesPerDomain(benchmark::State& state) {
    const auto domains = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        const auto observations = workload(domains * 4, domains * 4, 3);
        malloc_trim(0);
        const auto before = mallinfo2().uordblks;
        auto engine = std::make_unique<Engine>(bench_config(domains), [](LogLevel, std::string_view) {});
        for (const auto& obs : observations) engine->observe(obs);
        const auto after = mallinfo2().uordblks;
        state.counters["tracked"] = static_cast<double>(engine->tracked_domains());
        state.counters["bytes_per_domain"] =
            static_cast<double>(after - before) / static_cast<double>(engine->tracked_domains());
    }
}
BENCHMARK(BM_BytesPerDomain)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
