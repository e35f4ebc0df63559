#include "file_sink.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace fluxguard::sinkhole {

namespace {

constexpr std::size_t batch_size = 1024;

// Writes all of `data`; false with errno set on failure.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

FileSink::FileSink(std::string path, PayloadEncoding encoding, std::size_t queue_size, Log& log)
    : path_(std::move(path)), encoding_(encoding), log_(log), queue_(queue_size) {
    fd_ = open_file();
    if (fd_ < 0)
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("records-file '{}'", escape_bytes(path_)));
}

FileSink::~FileSink() {
    if (thread_.joinable()) stop(std::chrono::steady_clock::now());
    if (fd_ > STDERR_FILENO) ::close(fd_);
}

int FileSink::open_file() const {
    if (path_ == "-") return STDOUT_FILENO;
    return ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
}

void FileSink::start() {
    thread_ = std::thread([this] { run(); });
}

bool FileSink::submit(RecordPtr record) {
    if (queue_.push(std::move(record))) return true;
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void FileSink::reopen() {
    reopen_requested_.store(true);
    queue_.wake();
}

void FileSink::stop(std::chrono::steady_clock::time_point) {
    // A local file is always drained completely: the deadline is for Redis.
    queue_.close();
    if (thread_.joinable()) thread_.join();
    if (fd_ > STDERR_FILENO && ::fdatasync(fd_) != 0) {
        stats_.errors.fetch_add(1);
        log_.error(fmt::format("records-file '{}': fdatasync: {}", escape_bytes(path_),
                               std::generic_category().message(errno)));
    }
}

void FileSink::run() {
    std::vector<RecordPtr> batch;
    batch.reserve(batch_size);
    for (;;) {
        batch.clear();
        queue_.pop(batch, batch_size, std::chrono::seconds(1));
        if (reopen_requested_.exchange(false)) reopen_now();
        if (!batch.empty()) {
            write_batch(batch);
            continue;
        }
        if (queue_.closed() && queue_.size() == 0) return;
    }
}

void FileSink::write_batch(std::vector<RecordPtr>& batch) {
    std::string text;
    for (const auto& r : batch) text += to_json_line(*r, encoding_);
    if (write_all(fd_, text)) {
        stats_.written.fetch_add(batch.size(), std::memory_order_relaxed);
        return;
    }
    const int err = errno;
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    stats_.dropped.fetch_add(batch.size(), std::memory_order_relaxed);
    log_.limited("file-write", Level::error,
                 fmt::format("records-file '{}': write: {} ({} records lost)", escape_bytes(path_),
                             std::generic_category().message(err), batch.size()));
}

void FileSink::reopen_now() {
    if (path_ == "-") return;
    const int fd = open_file();
    if (fd < 0) {
        stats_.errors.fetch_add(1);
        log_.error(
            fmt::format("records-file '{}': cannot reopen, still writing to the old file: {}",
                        escape_bytes(path_), std::generic_category().message(errno)));
        return;
    }
    ::fdatasync(fd_);
    ::close(fd_);
    fd_ = fd;
    log_.info(fmt::format("records-file '{}' reopened", escape_bytes(path_)));
}

}  // namespace fluxguard::sinkhole
