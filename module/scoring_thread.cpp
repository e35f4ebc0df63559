#include "scoring_thread.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace fluxguard {

ScoringThread::ScoringThread(Score score)
    : score_(std::move(score)), thread_([this] { run(); }) {
    // So that top -H, perf and the benchmark can tell its CPU time apart.
    pthread_setname_np(thread_.native_handle(), "fg-scoring");
}

ScoringThread::~ScoringThread() {
    ring_.close();
    thread_.join();
}

bool ScoringThread::submit(const fg_observation& obs) {
    if (ring_.push(obs)) return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
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
    auto last_work = clock::now();
    for (;;) {
        const bool busy = clock::now() - last_work < quiet;
        const std::size_t scored =
            ring_.consume(score_, 256, busy ? std::chrono::milliseconds(0) : std::chrono::milliseconds(500));
        if (scored > 0) {
            last_work = clock::now();
            continue;
        }
        if (ring_.closed() && ring_.queued() == 0) return;
        if (busy) std::this_thread::sleep_for(poll);
    }
}

}  // namespace fluxguard
