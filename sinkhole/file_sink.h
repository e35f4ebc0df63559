// The records file: one JSON object per line (hit_record.h), appended by a
// background thread. The file is opened in the constructor, i.e. before
// privileges are dropped, so it may live in a directory the unprivileged
// user cannot write. reopen() (SIGHUP) opens the path again for log rotation;
// if that fails (e.g. no longer permitted) writing goes on to the old file.
// stop() writes everything queued and fdatasync()s the file.
//
// submit() and reopen() may be called from any thread; see record_sink.h.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bounded_queue.h"
#include "log.h"
#include "record_sink.h"
#include "sinkhole_config.h"

namespace fluxguard::sinkhole {

class FileSink final : public RecordSink {
  public:
    // "-" is standard output. Throws std::system_error naming the path.
    FileSink(std::string path, PayloadEncoding encoding, std::size_t queue_size, Log& log);
    ~FileSink() override;
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    std::string_view name() const override { return "file"; }
    void start() override;
    bool submit(RecordPtr record) override;
    void stop(std::chrono::steady_clock::time_point deadline) override;
    SinkStats stats() const override { return stats_.load(); }

    void reopen();

  private:
    int open_file() const;  // -1 with errno set on failure
    void run();
    void write_batch(std::vector<RecordPtr>& batch);
    void reopen_now();

    const std::string path_;
    const PayloadEncoding encoding_;
    Log& log_;
    BoundedQueue<RecordPtr> queue_;
    AtomicSinkStats stats_;
    std::atomic<bool> reopen_requested_{false};
    int fd_ = -1;  // owned by the writer thread once started
    std::thread thread_;
};

}  // namespace fluxguard::sinkhole
