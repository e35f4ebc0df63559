// store_bench: what the Redis fleet store costs, measured against a real
// redis-server on loopback (started here, no persistence):
//   1. observations/s through submit() -> Redis -> on_view, with two producer
//      threads, and Redis round trips per observation (pipelining at work);
//   2. the same one at a time (each waits for its view): the unbatched cost;
//   3. MEMORY USAGE of a typical tracked domain (20 addresses in 5 ASNs and
//      5 countries, 2 name servers, 5 resolutions), and used_memory growth per
//      domain over many such domains. The target is <= 1 KiB per domain;
//      this prints what it measures and asserts nothing.
// Usage: store_bench [domains=20000] [updates_per_domain=5]
#include <hiredis/hiredis.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "key_layout.h"

using namespace fgstore;
using Clock = std::chrono::steady_clock;

namespace {

// Resolution `k` (0..4) of typical domain `d`: 4 of its 20 addresses, one
// /24 (ASN, country) per resolution, and its two name servers.
fluxguard::FleetUpdate typical(int d, int k) {
    std::vector<std::string> addrs;
    addrs.reserve(4);
    const int net = 10 + k;
    for (int h = 0; h < 4; ++h)
        addrs.push_back("198." + std::to_string(18 + d % 2) + "." +
                        std::to_string(net + (d / 2) % 200) + "." +
                        std::to_string(1 + 4 * (d % 60) + h));
    return update("host" + std::to_string(d) + ".flux-bench.example", addrs,
                  {"ns1.dns-bench.example", "ns2.dns-bench.example"}, 120);
}

long long integer_field(const std::string& info, const std::string& field) {
    const auto at = info.find(field + ":");
    if (at == std::string::npos) return -1;
    return std::atoll(info.c_str() + at + field.size() + 1);
}

std::string info_memory(RedisServer& redis) {
    auto r = redis.command({"INFO", "memory"});
    return std::string(r->str, r->len);
}

}  // namespace

int main(int argc, char** argv) {
    const int domains = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int per_domain = argc > 2 ? std::atoi(argv[2]) : 5;
    RedisServer redis;
    std::printf("redis-server on 127.0.0.1:%u, %d domains x %d updates\n", redis.port(), domains,
                per_domain);

    auto o = fast_options(redis.endpoint());
    o.command_timeout = std::chrono::milliseconds(2000);
    o.resync_interval = std::chrono::seconds(30);
    o.batch_size = 256;
    std::atomic<std::uint64_t> views{0};
    fluxguard::FleetStore::Callbacks cb;
    cb.on_view = [&](const fluxguard::FleetView&) { views.fetch_add(1); };
    CaptureLog log;
    fluxguard::RedisFleetStore store(o, cb, log.sink());
    if (!wait_until([&] { return store.stats().connected; }, std::chrono::seconds(5))) {
        std::fprintf(stderr, "store did not connect\n");
        return 1;
    }
    const auto used_before = integer_field(info_memory(redis), "used_memory");

    // 1. Throughput under load: two producers, retrying when the queue is full
    // (a resolver would drop instead; here we want the sustained rate).
    redis.command({"CONFIG", "RESETSTAT"});
    const std::uint64_t total = static_cast<std::uint64_t>(domains) * per_domain;
    const auto rt0 = store.stats().round_trips;
    const auto t0 = Clock::now();
    std::vector<std::thread> producers;
    producers.reserve(2);
    std::atomic<std::uint64_t> full{0};
    for (int p = 0; p < 2; ++p) {
        producers.emplace_back([&, p] {
            for (int k = 0; k < per_domain; ++k)
                for (int d = p; d < domains; d += 2) {
                    auto u = typical(d, k % 5);
                    while (!store.submit(u)) {
                        full.fetch_add(1);
                        std::this_thread::sleep_for(std::chrono::microseconds(50));
                    }
                }
        });
    }
    for (auto& t : producers) t.join();
    wait_until([&] { return views.load() >= total; }, std::chrono::seconds(120));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto s = store.stats();
    std::printf("\n[load] %llu observations in %.2f s: %.0f observations/s\n",
                static_cast<unsigned long long>(views.load()), secs,
                static_cast<double>(views.load()) / secs);
    std::printf(
        "[load] %llu round trips: %.4f round trips per observation (%.0f updates per pipeline)\n",
        static_cast<unsigned long long>(s.round_trips - rt0),
        static_cast<double>(s.round_trips - rt0) / static_cast<double>(views.load()),
        static_cast<double>(views.load()) / static_cast<double>(s.round_trips - rt0));
    std::printf(
        "[load] errors %llu; submit() refused %llu times on a full queue (the producers "
        "outran Redis and retried)\n",
        static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(full.load()));
    {
        // Redis' own accounting: how much of each update's cost is the script.
        auto stats = redis.command({"INFO", "commandstats"});
        const std::string text(stats->str, stats->len);
        const auto at = text.find("cmdstat_evalsha:");
        if (at != std::string::npos)
            std::printf("[load] redis %s\n", text.substr(at, text.find('\r', at) - at).c_str());
    }

    // 2. One at a time: the latency of one merge, one round trip each.
    const int serial = 2000;
    const auto rt1 = store.stats().round_trips;
    const auto v1 = views.load();
    const auto t1 = Clock::now();
    for (int i = 0; i < serial; ++i) {
        store.submit(typical(i, 0));
        while (views.load() < v1 + static_cast<std::uint64_t>(i) + 1) std::this_thread::yield();
    }
    const double serial_secs = std::chrono::duration<double>(Clock::now() - t1).count();
    std::printf(
        "\n[serial] %d observations one at a time: %.1f us each, %.2f round trips per "
        "observation\n",
        serial, serial_secs * 1e6 / serial,
        static_cast<double>(store.stats().round_trips - rt1) / serial);

    // 3. Memory of one typical domain (fully merged by now), key by key.
    const fluxguard::KeyLayout layout("fluxguard:");
    const auto probe = typical(0, 0).domain;
    const auto k = layout.domain_keys(probe);
    long long sum = 0;
    std::printf("\n[memory] typical domain %s:\n", probe.c_str());
    for (const auto& [key, what] :
         std::vector<std::pair<std::string, const char*>>{{k.addr, "addr"},
                                                          {k.pfx, "pfx"},
                                                          {k.asn, "asn"},
                                                          {k.cc, "cc"},
                                                          {k.ns, "ns"},
                                                          {k.meta, "meta"}}) {
        auto usage = redis.command({"MEMORY", "USAGE", key, "SAMPLES", "0"});
        auto card = what == std::string("meta") ? redis.command({"HLEN", key})
                                                : redis.command({"ZCARD", key});
        auto enc = redis.command({"OBJECT", "ENCODING", key});
        std::printf("  %-5s %3lld members  %5lld bytes  (%.*s)\n", what, card->integer,
                    usage->integer, static_cast<int>(enc->len), enc->str);
        sum += usage->integer;
    }
    std::printf("  total MEMORY USAGE: %lld bytes per domain (target <= 1024)\n", sum);
    const auto used_after = integer_field(info_memory(redis), "used_memory");
    const auto dbsize = redis.command({"DBSIZE"})->integer;
    std::printf(
        "  used_memory growth: %.0f bytes per domain over %d domains (%lld keys; includes the "
        "keyspace and expires tables)\n",
        static_cast<double>(used_after - used_before) / domains, domains, dbsize);
    return 0;
}
