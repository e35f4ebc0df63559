// The module's hand-over to its scoring thread (module/observation_copy,
// module/scoring_thread): plain C records and a thread, no Unbound.
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

#include "observation_copy.h"
#include "scoring_thread.h"
#include "unit.h"

using fluxguard::ObservationCopy;
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

TEST_CASE("observation copy: every byte is copied and the view points into the copy",
          "[scoring_thread]") {
    auto source = std::make_unique<Source>(std::string("\x03www\x04zone\x00", 10));
    const fg_observation original = source->obs;
    std::vector<std::string> answer_rdata;
    for (std::size_t i = 0; i < original.answer_count; ++i)
        answer_rdata.push_back(bytes(original.answer[i].rdata, original.answer[i].rdata_len));
    const std::string qname = bytes(original.qname, original.qname_len);

    ObservationCopy copy(original);
    // Moving it keeps the view valid: the buffers do not move.
    ObservationCopy moved = std::move(copy);
    source.reset();  // Unbound's memory is gone

    const fg_observation& v = moved.view();
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
    CHECK(moved.bytes() > 0);
}

TEST_CASE("observation copy: an empty answer without a zone", "[scoring_thread]") {
    fg_observation empty{};
    const std::uint8_t root[] = {0};
    empty.qname = root;
    empty.qname_len = 1;
    ObservationCopy copy(empty);
    CHECK(copy.view().answer_count == 0);
    CHECK(copy.view().zone == nullptr);
    CHECK(copy.view().qname_len == 1);
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
    // One answer first, and the scorer stuck on it: then the queue takes
    // exactly `capacity` more, whatever the scheduler does.
    REQUIRE(thread->submit(s.obs));
    {
        std::unique_lock lock(gate_mutex);
        REQUIRE(gate.wait_for(lock, std::chrono::seconds(10), [&] { return entered; }));
    }
    const std::size_t extra = 1000;
    const std::size_t submitted = 1 + ScoringThread::capacity + extra;
    for (std::size_t i = 1; i < submitted; ++i) thread->submit(s.obs);
    const std::uint64_t dropped = thread->dropped();
    CHECK(dropped == extra);
    CHECK(thread->queued() == ScoringThread::capacity);
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
