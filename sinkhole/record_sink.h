// Where records go. The server hands every record to each sink; a sink
// queues it (bounded) for its own thread and never makes the network thread
// wait on a disk or on Redis. Two implementations: file_sink.h (JSON Lines)
// and redis_sink.h (stream + per-host aggregate).
//
// submit() is called from the network thread only; stats() from any thread;
// start() and stop() from the main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "hit_record.h"

namespace fluxguard::sinkhole {

using RecordPtr = std::shared_ptr<const HitRecord>;

struct SinkStats {
    std::uint64_t written = 0;  // records the destination accepted
    std::uint64_t dropped = 0;  // queue full, or still queued when stop() gave up
    std::uint64_t errors = 0;   // failed writes, connections, commands
};

class RecordSink {
  public:
    virtual ~RecordSink() = default;
    virtual std::string_view name() const = 0;
    // Starts the sink's thread (after privileges are dropped).
    virtual void start() = 0;
    // Queues the record; false (and counted as dropped) when the queue is full.
    virtual bool submit(RecordPtr record) = 0;
    // Writes what is queued, trying no longer than `deadline`, then stops
    // the thread. Records not written by then are counted as dropped.
    virtual void stop(std::chrono::steady_clock::time_point deadline) = 0;
    virtual SinkStats stats() const = 0;
};

// Counters a sink's thread updates while others read them.
struct AtomicSinkStats {
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> errors{0};
    SinkStats load() const { return {written.load(), dropped.load(), errors.load()}; }
};

}  // namespace fluxguard::sinkhole
