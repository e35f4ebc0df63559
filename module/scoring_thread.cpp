#include "scoring_thread.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

namespace fluxguard {

ScoringThread::ScoringThread(Score score)
    : score_(std::move(score)), thread_([this] { run(); }) {
    // So that top -H, perf and the benchmark can tell its CPU time apart.
    pthread_setname_np(thread_.native_handle(), "fg-scoring");
}

ScoringThread::~ScoringThread() {
    queue_.close();
    thread_.join();
}

bool ScoringThread::submit(const fg_observation& obs) {
    ObservationCopy copy(obs);
    const std::size_t bytes = copy.bytes() + sizeof(ObservationCopy);
    if (!queue_.push(std::move(copy))) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    queued_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    return true;
}

void ScoringThread::run() {
    // Resolution first: when the machine is short of CPU, the workers win
    // and answers wait here (and are dropped and counted when the queue is
    // full) rather than clients. With a spare core this changes nothing.
    // (Linux: a nice value per thread.)
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), scoring_nice);
    // While answers keep coming, look for more every millisecond instead of
    // sleeping until woken: producers then never make a system call. After
    // a quiet spell, sleep until the next answer wakes us.
    using clock = std::chrono::steady_clock;
    constexpr auto poll = std::chrono::milliseconds(1);
    constexpr auto quiet = std::chrono::milliseconds(100);
    std::vector<ObservationCopy> batch;
    auto last_work = clock::now();
    for (;;) {
        batch.clear();
        const bool busy = clock::now() - last_work < quiet;
        queue_.pop(batch, 256, busy ? std::chrono::milliseconds(0) : std::chrono::milliseconds(500));
        for (const auto& obs : batch) {
            queued_bytes_.fetch_sub(obs.bytes() + sizeof(ObservationCopy),
                                    std::memory_order_relaxed);
            score_(obs.view());
        }
        if (!batch.empty()) {
            last_work = clock::now();
            continue;
        }
        if (queue_.closed() && queue_.size() == 0) return;
        if (busy) std::this_thread::sleep_for(poll);
    }
}

}  // namespace fluxguard
