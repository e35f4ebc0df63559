#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "blocklist.h"
#include "unit.h"

using fluxguard::Block;
using fluxguard::Blocklist;

namespace {

Block block_of(const std::string& domain, double score = 10, std::int64_t since = 1000) {
    return {domain, "fast flux: " + domain, score, since};
}

std::string covering_domain(const Blocklist& list, std::string_view name) {
    auto b = list.covering(name);
    return b ? b->domain : "";
}

}  // namespace

TEST_CASE("blocklist: add, covering and remove", "[blocklist]") {
    Blocklist list;
    CHECK(list.size() == 0);
    CHECK_FALSE(list.covering("flux.test"));

    CHECK(list.add(block_of("flux.test", 12.5, 4242)));
    CHECK(list.size() == 1);
    CHECK_FALSE(list.add(block_of("flux.test", 99, 1)));  // already there: kept as it was
    CHECK(list.size() == 1);

    const auto b = list.covering("flux.test");
    REQUIRE(b);
    CHECK(b->domain == "flux.test");
    CHECK(b->reason == "fast flux: flux.test");
    CHECK(b->score == 12.5);
    CHECK(b->since == 4242);

    CHECK(covering_domain(list, "www.flux.test") == "flux.test");
    CHECK(covering_domain(list, "a.b.c.flux.test") == "flux.test");
    CHECK(covering_domain(list, "xflux.test") == "");
    CHECK(covering_domain(list, "www.xflux.test") == "");
    CHECK(covering_domain(list, "test") == "");
    CHECK(covering_domain(list, "static.test") == "");
    CHECK(covering_domain(list, "flux.test.evil") == "");
    CHECK(covering_domain(list, "") == "");

    CHECK_FALSE(list.remove("www.flux.test"));  // only exact domains are removed
    CHECK_FALSE(list.remove("other.test"));
    CHECK(list.remove("flux.test"));
    CHECK(list.size() == 0);
    CHECK_FALSE(list.covering("www.flux.test"));
    CHECK_FALSE(list.remove("flux.test"));
}

TEST_CASE("blocklist: nested blocks and all()", "[blocklist]") {
    Blocklist list;
    CHECK(list.add(block_of("flux.test")));
    CHECK(list.add(block_of("deep.other.test")));
    CHECK(list.add(block_of("sub.flux.test")));
    CHECK(list.size() == 3);
    // The closest block wins.
    CHECK(covering_domain(list, "www.sub.flux.test") == "sub.flux.test");
    CHECK(covering_domain(list, "www.flux.test") == "flux.test");
    CHECK(covering_domain(list, "x.deep.other.test") == "deep.other.test");
    CHECK(covering_domain(list, "other.test") == "");

    std::vector<std::string> domains;
    for (const auto& b : list.all()) domains.push_back(b.domain);
    std::sort(domains.begin(), domains.end());
    CHECK(domains == std::vector<std::string>{"deep.other.test", "flux.test", "sub.flux.test"});

    CHECK(list.remove("sub.flux.test"));
    CHECK(covering_domain(list, "www.sub.flux.test") == "flux.test");
}

TEST_CASE("blocklist: concurrent readers and writers", "[blocklist]") {
    Blocklist list;
    CHECK(list.add(block_of("always.test")));
    constexpr int writers = 2;
    constexpr int readers = 4;
    constexpr int domains_per_writer = 300;
    std::atomic<bool> stop{false};
    std::atomic<long> wrong{0};
    std::atomic<long> reads{0};

    auto domain = [](int w, int i) {
        return "d" + std::to_string(i) + ".w" + std::to_string(w) + ".test";
    };

    std::vector<std::thread> threads;
    for (int r = 0; r < readers; ++r) {
        threads.emplace_back([&, r] {
            long n = 0;
            // Read at least a few thousand times, and until the writers are done.
            while (!stop.load() || n < 2000) {
                const auto always = list.covering("www.always.test");
                if (!always || always->domain != "always.test") ++wrong;
                if (list.covering("xalways.test")) ++wrong;
                const auto maybe = list.covering(
                    "www.d" + std::to_string((n + r) % domains_per_writer) + ".w0.test");
                if (maybe && maybe->domain.rfind("d", 0) != 0) ++wrong;
                (void)list.size();
                if (n % 97 == 0) (void)list.all();
                ++n;
            }
            reads += n;
        });
    }
    std::vector<std::thread> writer_threads;
    for (int w = 0; w < writers; ++w) {
        writer_threads.emplace_back([&, w] {
            for (int i = 0; i < domains_per_writer; ++i)
                if (!list.add(block_of(domain(w, i)))) ++wrong;
            // Remove the odd ones again.
            for (int i = 1; i < domains_per_writer; i += 2)
                if (!list.remove(domain(w, i))) ++wrong;
        });
    }
    for (auto& t : writer_threads) t.join();
    stop = true;
    for (auto& t : threads) t.join();

    CHECK(wrong == 0);
    CHECK(reads >= readers * 2000);
    CHECK(list.size() == 1 + writers * domains_per_writer / 2);
    CHECK(list.all().size() == list.size());
    for (int w = 0; w < writers; ++w) {
        for (int i = 0; i < domains_per_writer; ++i) {
            INFO(domain(w, i));
            CHECK(covering_domain(list, "www." + domain(w, i)) == (i % 2 == 0 ? domain(w, i) : ""));
        }
    }
}
