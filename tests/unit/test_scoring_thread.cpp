// The module's hand-over to its scoring thread (module/answer_ring,
// module/scoring_thread): plain C records and a thread, no Unbound.
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "answer_ring.h"
#include "scoring_thread.h"
#include "unit.h"

using fluxguard::AnswerRing;
using fluxguard::ScoringThread;

namespace {

std::string bytes(const std::uint8_t* p, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(p), n);
}

// An observation whose bytes live in `store`, as Unbound's would live in
// its reply: valid only while the caller keeps them.
struct Source {
    std::vector<std::vector<std::uint8_t>> store;
    std::vector<fg_rr> answer, delegation;
    fg_observation obs{};

    // `text` with its embedded zero bytes: callers give the length.
    const std::uint8_t* keep(std::string_view text) {
        store.emplace_back(text.begin(), text.end());
        return store.back().data();
    }
    explicit Source(const std::string& qname) {
        store.reserve(16);
        obs.time = 1700000000;
        obs.qtype = 1;
        obs.qname = keep(qname);
        obs.qname_len = qname.size();
        using std::string_view;
        answer.push_back({keep(qname), qname.size(), 1, 60, keep(string_view("\xc0\x00\x02\x01", 4)), 4});
        answer.push_back({keep(qname), qname.size(), 1, 60, keep(string_view("\xc0\x00\x02\x02", 4)), 4});
        delegation.push_back({keep(string_view("\x04zone\x00", 6)), 6, 2, 3600,
                              keep(string_view("\x02ns\x04zone\x00", 9)), 9});
        obs.answer = answer.data();
        obs.answer_count = answer.size();
        obs.zone = keep(std::string_view("\x04zone\x00", 6));
        obs.zone_len = 6;
        obs.delegation = delegation.data();
        obs.delegation_count = delegation.size();
    }
};

}  // namespace

// The ring's copy of `source`, taken after Unbound's memory is gone.
void check_copy(const fg_observation& v, const fg_observation& original, const std::string& qname,
                const std::vector<std::string>& answer_rdata) {
    CHECK(v.time == original.time);
    CHECK(v.qtype == 1);
    CHECK(bytes(v.qname, v.qname_len) == qname);
    CHECK(bytes(v.zone, v.zone_len) == std::string("\x04zone\x00", 6));
    REQUIRE(v.answer_count == 2);
    for (std::size_t i = 0; i < v.answer_count; ++i) {
        CHECK(bytes(v.answer[i].owner, v.answer[i].owner_len) == qname);
        CHECK(bytes(v.answer[i].rdata, v.answer[i].rdata_len) == answer_rdata[i]);
        CHECK(v.answer[i].ttl == 60);
    }
    REQUIRE(v.delegation_count == 1);
    CHECK(v.delegation[0].type == 2);
    CHECK(bytes(v.delegation[0].rdata, v.delegation[0].rdata_len) ==
          std::string("\x02ns\x04zone\x00", 9));
}

TEST_CASE("answer ring: every byte is copied and the view points into the ring",
          "[scoring_thread]") {
    auto source = std::make_unique<Source>(std::string("\x03www\x04zone\x00", 10));
    const fg_observation original = source->obs;
    std::vector<std::string> answer_rdata;
    for (std::size_t i = 0; i < original.answer_count; ++i)
        answer_rdata.push_back(bytes(original.answer[i].rdata, original.answer[i].rdata_len));
    const std::string qname = bytes(original.qname, original.qname_len);
    const std::size_t entry_bytes = AnswerRing::entry_bytes(original);

    AnswerRing ring(64 * 1024);
    REQUIRE(ring.push(original));
    CHECK(ring.queued() == 1);
    source.reset();  // Unbound's memory is gone

    std::size_t seen = 0;
    CHECK(ring.consume([&](const fg_observation& v) {
        ++seen;
        check_copy(v, original, qname, answer_rdata);
    }, 10, std::chrono::milliseconds(0)) == 1);
    CHECK(seen == 1);
    CHECK(ring.queued() == 0);
    CHECK(ring.touched_bytes() == entry_bytes);
}

TEST_CASE("answer ring: an empty answer without a zone", "[scoring_thread]") {
    fg_observation empty{};
    const std::uint8_t root[] = {0};
    empty.qname = root;
    empty.qname_len = 1;
    AnswerRing ring(4096);
    REQUIRE(ring.push(empty));
    CHECK(ring.consume([](const fg_observation& v) {
        CHECK(v.answer_count == 0);
        CHECK(v.zone == nullptr);
        CHECK(v.qname_len == 1);
        CHECK(v.qname[0] == 0);
    }, 1, std::chrono::milliseconds(0)) == 1);  // the checks above ran
}

TEST_CASE("answer ring: answers of many sizes wrap around intact, in order",
          "[scoring_thread]") {
    // A ring a few answers deep, consumed in small batches behind the
    // producer, so entries wrap at every offset (with fillers and gaps too
    // small for one) and the ring refuses while full.
    AnswerRing ring(8 * 1024);
    std::size_t pushed = 0, consumed = 0, refused = 0;
    const auto name_of = [](std::size_t i) {
        // 1 to 60 bytes of label: entries of different sizes.
        const std::size_t n = 1 + i * 7 % 60;
        return std::string(1, static_cast<char>(n)) + std::string(n, static_cast<char>('a' + i % 26)) +
               std::string(1, '\0');
    };
    while (consumed < 2000) {
        for (int k = 0; k < 3 && pushed < 2000; ++k) {
            Source s(name_of(pushed));
            if (ring.push(s.obs)) ++pushed; else ++refused;
        }
        ring.consume([&](const fg_observation& v) {
            REQUIRE(bytes(v.qname, v.qname_len) == name_of(consumed));
            REQUIRE(v.answer_count == 2);
            CHECK(bytes(v.answer[1].rdata, v.answer[1].rdata_len) == std::string("\xc0\x00\x02\x02", 4));
            ++consumed;
        }, 2, std::chrono::milliseconds(0));
    }
    CHECK(refused > 0);  // it did fill up
    CHECK(ring.queued() == 0);
    CHECK(ring.touched_bytes() <= 8 * 1024);
}

TEST_CASE("answer ring: four producers and a sleeping consumer lose nothing",
          "[scoring_thread]") {
    // A small ring: producers wrap it constantly and meet it full (then
    // retry); the consumer sleeps in consume() whenever it has caught up,
    // for up to a minute, so a lost wake-up stalls the test for that long.
    AnswerRing ring(16 * 1024);
    constexpr int producers = 4;
    constexpr int each = 20000;
    std::atomic<int> done{0};
    std::thread consumer([&] {
        std::array<int, producers> next{};
        int total = 0;
        while (total < producers * each) {
            ring.consume([&](const fg_observation& v) {
                // qname: \x05 p n n n n, the producer and its sequence number
                REQUIRE(v.qname_len == 7);
                const int p = v.qname[1] - '0';
                const int n = std::stoi(bytes(v.qname + 2, 4), nullptr, 36);
                REQUIRE(p >= 0);
                REQUIRE(p < producers);
                REQUIRE(n == next[static_cast<std::size_t>(p)] % (36 * 36 * 36 * 36));
                ++next[static_cast<std::size_t>(p)];
                ++total;
            }, 64, std::chrono::seconds(60));
        }
    });
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
            for (int i = 0; i < each; ++i) {
                std::string name = "\x05" + std::to_string(p);
                for (int d = 36 * 36 * 36, k = i; d > 0; d /= 36) name += digits[k / d % 36];
                name += '\0';
                Source s(name);
                while (!ring.push(s.obs)) std::this_thread::yield();
            }
            ++done;
        });
    for (auto& t : threads) t.join();
    consumer.join();
    CHECK(done == producers);
    CHECK(ring.queued() == 0);
}

TEST_CASE("answer ring: a closed ring refuses, and an answer over a quarter of it never fits",
          "[scoring_thread]") {
    Source s(std::string("\x03www\x04zone\x00", 10));
    AnswerRing small(AnswerRing::entry_bytes(s.obs) * 3);
    CHECK_FALSE(small.push(s.obs));
    AnswerRing ring(64 * 1024);
    ring.close();
    CHECK_FALSE(ring.push(s.obs));
    CHECK(ring.closed());
}

TEST_CASE("scoring thread: scores every answer, in order, and drains on shutdown",
          "[scoring_thread]") {
    std::vector<std::string> seen;
    std::mutex seen_mutex;
    {
        ScoringThread thread([&](const fg_observation& obs) {
            const std::lock_guard lock(seen_mutex);
            seen.push_back(bytes(obs.qname, obs.qname_len));
        });
        for (int i = 0; i < 1000; ++i) {
            Source s("\x01" + std::string(1, static_cast<char>('a' + i % 26)) + std::string(1, '\0'));
            REQUIRE(thread.submit(s.obs));
        }
        CHECK(thread.dropped() == 0);
    }  // destroyed: what was queued is scored first
    REQUIRE(seen.size() == 1000);
    for (int i = 0; i < 1000; ++i)
        CHECK(seen[static_cast<std::size_t>(i)][1] == static_cast<char>('a' + i % 26));
}

TEST_CASE("scoring thread: a full queue drops and counts, never waits", "[scoring_thread]") {
    std::mutex gate_mutex;
    std::condition_variable gate;
    bool open = false;
    bool entered = false;
    std::atomic<std::uint64_t> scored{0};
    std::optional<ScoringThread> thread;
    thread.emplace([&](const fg_observation&) {
        std::unique_lock lock(gate_mutex);
        entered = true;
        gate.notify_all();
        gate.wait(lock, [&] { return open; });
        ++scored;
    });
    Source s(std::string("\x03www\x04zone\x00", 10));
    // One answer first, and the scorer stuck on it (its entry still held):
    // then the ring takes exactly what fits in its capacity, whatever the
    // scheduler does.
    REQUIRE(thread->submit(s.obs));
    {
        std::unique_lock lock(gate_mutex);
        REQUIRE(gate.wait_for(lock, std::chrono::seconds(10), [&] { return entered; }));
    }
    const std::size_t fit = ScoringThread::capacity_bytes / AnswerRing::entry_bytes(s.obs);
    const std::size_t extra = 1000;
    const std::size_t submitted = fit + extra;
    for (std::size_t i = 1; i < submitted; ++i) thread->submit(s.obs);
    const std::uint64_t dropped = thread->dropped();
    CHECK(dropped == extra);
    CHECK(thread->queued() == fit);
    {
        const std::lock_guard lock(gate_mutex);
        open = true;
    }
    gate.notify_all();
    thread.reset();  // everything accepted is scored before it stops
    CHECK(scored.load() + dropped == submitted);
}

TEST_CASE("scoring thread: named fg-scoring, below the workers' priority", "[scoring_thread]") {
    std::atomic<bool> ran{false};
    ScoringThread thread([&](const fg_observation&) { ran = true; });
    Source s(std::string("\x03www\x04zone\x00", 10));
    REQUIRE(thread.submit(s.obs));
    for (int i = 0; i < 500 && !ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE(ran);  // the thread has started and set its priority
    int found = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name != "fg-scoring") continue;
        ++found;
        std::ifstream stat(task.path() / "stat");
        std::string line;
        std::getline(stat, line);
        // Fields after the command's closing parenthesis: state is the 3rd
        // field of the line, nice the 19th.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
        REQUIRE(fields.size() > 16);
        CHECK(std::stoi(fields[16]) == ScoringThread::scoring_nice);
    }
    CHECK(found == 1);
}
