#include "redis_sink.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <random>

#include "fleet_script.h"

namespace fluxguard::sinkhole {

RedisKeys::RedisKeys(const std::string& prefix)
    : shared_(prefix), stream_(prefix + "sinkhole:hits") {}

void RedisContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

namespace {

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
using Argv = std::vector<std::string>;

constexpr std::size_t batch_size = 256;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>(ms.count() % 1000 * 1000);
    return tv;
}

// Appends every command, then reads one reply per command. False on an I/O
// error or timeout: the context is then unusable.
bool pipeline(redisContext* c, const std::vector<Argv>& commands, std::vector<ReplyPtr>& replies) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& command : commands) {
        argv.clear();
        lengths.clear();
        for (const auto& a : command) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
            REDIS_OK)
            return false;
    }
    for (std::size_t i = 0; i < commands.size(); ++i) {
        void* reply = nullptr;
        if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) return false;
        replies.emplace_back(static_cast<redisReply*>(reply));
    }
    return true;
}

bool is_error(const ReplyPtr& r) { return r && r->type == REDIS_REPLY_ERROR; }
std::string error_text(const ReplyPtr& r) {
    return r && r->str ? std::string(r->str, r->len) : std::string("(no reply)");
}

// Exponential reconnect delays with equal jitter, 100 ms to 10 s.
class Backoff {
  public:
    std::chrono::milliseconds next() {
        const auto ceiling =
            std::min<std::int64_t>(10000, std::int64_t{100} << std::min(failures_, 7));
        ++failures_;
        std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
        return std::chrono::milliseconds(pick(random_));
    }
    void reset() { failures_ = 0; }

  private:
    int failures_ = 0;
    std::minstd_rand random_{std::random_device{}()};
};

}  // namespace

RedisSink::RedisSink(RedisSinkConfig config, PayloadEncoding encoding, std::size_t queue_size,
                     Log& log)
    : config_(std::move(config)),
      encoding_(encoding),
      keys_(config_.key_prefix),
      log_(log),
      queue_(queue_size) {}

RedisSink::~RedisSink() {
    if (thread_.joinable()) stop(std::chrono::steady_clock::now());
}

std::string RedisSink::where() const {
    if (!config_.unix_socket.empty()) return escape_bytes(config_.unix_socket);
    if (config_.host.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", escape_bytes(config_.host), config_.port);
    return fmt::format("{}:{}", escape_bytes(config_.host), config_.port);
}

void RedisSink::start() {
    thread_ = std::thread([this] { run(); });
}

bool RedisSink::submit(RecordPtr record) {
    if (queue_.push(std::move(record))) return true;
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    log_.limited("redis-queue-full", Level::warning,
                 "Redis queue full: records dropped from Redis (they are in the records file)");
    return false;
}

void RedisSink::stop(std::chrono::steady_clock::time_point deadline) {
    {
        const std::lock_guard lock(stop_mutex_);
        stopping_ = true;
        deadline_ = deadline;
    }
    queue_.close();
    stop_signal_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void RedisSink::sleep_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(stop_mutex_);
    stop_signal_.wait_for(lock, delay, [&] { return stopping_; });
}

bool RedisSink::connect() {
    context_.reset();
    const auto tv = to_timeval(config_.connect_timeout);
    RedisContextPtr c(config_.unix_socket.empty()
                          ? redisConnectWithTimeout(config_.host.c_str(), config_.port, tv)
                          : redisConnectUnixWithTimeout(config_.unix_socket.c_str(), tv));
    const auto fail = [&](std::string_view why) {
        stats_.errors.fetch_add(1, std::memory_order_relaxed);
        log_.limited(
            "redis-connect", Level::warning,
            fmt::format("Redis at {}: {}; retrying, records still go to the file", where(), why));
        return false;
    };
    if (!c) return fail("out of memory");
    if (c->err) return fail(c->errstr);
    if (redisSetTimeout(c.get(), to_timeval(config_.command_timeout)) != REDIS_OK)
        return fail("cannot set the command timeout");

    std::vector<Argv> setup;
    if (!config_.password.empty()) {
        if (config_.user.empty())
            setup.push_back({"AUTH", config_.password});
        else
            setup.push_back({"AUTH", config_.user, config_.password});
    }
    if (config_.database != 0) setup.push_back({"SELECT", std::to_string(config_.database)});
    setup.push_back(fleet_script::load());
    std::vector<ReplyPtr> replies;
    if (!pipeline(c.get(), setup, replies))
        return fail(c->errstr[0] ? c->errstr : "connection lost");
    for (const auto& r : replies)
        if (is_error(r))
            return fail(escape_bytes(error_text(r)));  // AUTH errors never echo the password
    const auto& sha = replies.back();
    if (sha->type != REDIS_REPLY_STRING) return fail("SCRIPT LOAD: unexpected reply");
    script_sha_.assign(sha->str, sha->len);
    context_ = std::move(c);
    log_.limited("redis-connected", Level::info, fmt::format("connected to Redis at {}", where()));
    return true;
}

bool RedisSink::write_batch(const std::vector<RecordPtr>& batch) {
    std::vector<Argv> commands;
    std::vector<Argv> scripts;  // the EVALSHA of each record, kept for a NOSCRIPT retry
    commands.reserve(batch.size() * 2 + 1);
    for (const auto& r : batch) {
        Argv xadd = {"XADD", keys_.stream(), "MAXLEN", "~", std::to_string(config_.stream_length),
                     "*"};
        for (auto& [name, value] : to_fields(*r, encoding_)) {
            xadd.push_back(std::move(name));
            xadd.push_back(std::move(value));
        }
        commands.push_back(std::move(xadd));
        const ClientHit hit{escape_bytes(r->domain), r->client.address, unix_seconds(r->time)};
        scripts.push_back(fleet_script::client(script_sha_, keys_.shared(), hit, port_label(*r),
                                               config_.host_ttl, config_.max_set_size));
        commands.push_back(scripts.back());
    }
    // Keeps the max_hosts most recently seen; a no-op while there are fewer.
    commands.push_back({"ZREMRANGEBYRANK", keys_.hosts(), "0",
                        std::to_string(-static_cast<std::int64_t>(config_.max_hosts) - 1)});

    std::vector<ReplyPtr> replies;
    if (!pipeline(context_.get(), commands, replies)) return false;

    std::vector<Argv> retry;
    std::uint64_t written = 0;
    std::uint64_t failed = 0;
    std::string first_error;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& xadd = replies[2 * i];
        const auto& eval = replies[2 * i + 1];
        if (is_error(xadd)) {
            ++failed;
            if (first_error.empty()) first_error = "XADD: " + error_text(xadd);
        } else {
            ++written;
        }
        if (is_error(eval) && error_text(eval).starts_with("NOSCRIPT")) {
            retry.push_back(scripts[i]);
        } else if (is_error(eval)) {
            ++failed;
            if (first_error.empty()) first_error = "host update: " + error_text(eval);
        }
    }
    if (is_error(replies.back()) && first_error.empty())
        first_error = "ZREMRANGEBYRANK: " + error_text(replies.back());

    // The script cache was flushed (SCRIPT FLUSH, or a restart we did not see
    // as a broken connection): load it again and redo those updates.
    if (!retry.empty()) {
        std::vector<ReplyPtr> loaded;
        if (!pipeline(context_.get(), {fleet_script::load()}, loaded)) return false;
        if (!is_error(loaded[0]) && loaded[0]->type == REDIS_REPLY_STRING)
            script_sha_.assign(loaded[0]->str, loaded[0]->len);
        for (auto& command : retry) command[1] = script_sha_;
        std::vector<ReplyPtr> again;
        if (!pipeline(context_.get(), retry, again)) return false;
        for (const auto& r : again) {
            if (!is_error(r)) continue;
            ++failed;
            if (first_error.empty()) first_error = "host update: " + error_text(r);
        }
    }

    stats_.written.fetch_add(written, std::memory_order_relaxed);
    if (failed > 0 || !first_error.empty()) {
        stats_.errors.fetch_add(std::max<std::uint64_t>(failed, 1), std::memory_order_relaxed);
        log_.limited(
            "redis-command", Level::error,
            fmt::format("Redis at {} refused commands: {}", where(), escape_bytes(first_error)));
    }
    return true;
}

void RedisSink::run() {
    Backoff backoff;
    std::vector<RecordPtr> pending;  // taken from the queue, not yet written
    pending.reserve(batch_size);
    for (;;) {
        bool stopping = false;
        std::chrono::steady_clock::time_point deadline;
        {
            const std::lock_guard lock(stop_mutex_);
            stopping = stopping_;
            deadline = deadline_;
        }
        if (stopping && pending.empty() && queue_.size() == 0) break;
        if (stopping && std::chrono::steady_clock::now() >= deadline) break;
        if (!context_) {
            // At shutdown one last attempt, no waiting for a Redis that is down.
            if (!connect()) {
                if (stopping) break;
                sleep_for(backoff.next());
                continue;
            }
            backoff.reset();
        }
        if (pending.empty())
            queue_.pop(pending, batch_size,
                       stopping ? std::chrono::milliseconds(0) : std::chrono::seconds(1));
        if (pending.empty()) continue;
        if (write_batch(pending)) {
            pending.clear();
            continue;
        }
        stats_.errors.fetch_add(1, std::memory_order_relaxed);
        log_.limited(
            "redis-io", Level::warning,
            fmt::format("Redis at {}: {}; reconnecting, records still go to the file", where(),
                        context_->errstr[0] ? context_->errstr : "connection lost"));
        context_.reset();
    }
    // Whatever is left could not be written before the deadline.
    std::vector<RecordPtr> rest;
    while (queue_.pop(rest, batch_size, std::chrono::milliseconds(0)) > 0) {
    }
    const auto lost = pending.size() + rest.size();
    if (lost > 0) {
        stats_.dropped.fetch_add(lost, std::memory_order_relaxed);
        log_.warning(
            fmt::format("{} records not written to Redis at {} before stopping (they are "
                        "in the records file)",
                        lost, where()));
    }
    context_.reset();
}

}  // namespace fluxguard::sinkhole
