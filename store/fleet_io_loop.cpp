#include "fleet_io_loop.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <unordered_set>
#include <utility>

namespace fluxguard {

namespace {

// Updates merged per turn of the loop before timers and the subscriber get a
// look in: bounds how long a pub/sub event waits behind a backlog.
constexpr int kBatchesPerTurn = 8;
// Blocks/unblocks waiting for Redis at most (beyond the submit lane's own
// bound); the oldest are dropped first. Blocks are rare: this is an outage of
// hours at a very high block rate.
constexpr std::size_t kMaxPendingEvents = 4096;

std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

bool is_error(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }

bool starts_with(const redisReply& r, std::string_view p) {
    return (r.type == REDIS_REPLY_ERROR || r.type == REDIS_REPLY_STRING ||
            r.type == REDIS_REPLY_STATUS) &&
           text_of(r).substr(0, p.size()) == p;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ZSET scores come back as text ("1732600000", "1.7e9", "inf").
std::optional<std::int64_t> score_of(std::string_view text) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) ||
        std::fabs(v) > 9e15)
        return std::nullopt;
    return static_cast<std::int64_t>(v);
}

const std::string& domain_of(const FleetEvent& e) {
    return std::visit([](const auto& v) -> const std::string& { return v.domain; }, e);
}

}  // namespace

FleetStats StoreCounters::snapshot() const {
    FleetStats s;
    s.submitted = submitted.load(std::memory_order_relaxed);
    s.dropped = dropped.load(std::memory_order_relaxed);
    s.round_trips = round_trips.load(std::memory_order_relaxed);
    s.errors = errors.load(std::memory_order_relaxed);
    s.connected = connected.load(std::memory_order_relaxed);
    return s;
}

FleetIoLoop::FleetIoLoop(RedisOptions options, FleetStore::Callbacks callbacks, StoreLogSink log,
                         SubmitQueue& queue, StoreCounters& counters)
    : options_(std::move(options)),
      layout_(options_.key_prefix),
      limits_{options_.entry_ttl.count(), options_.max_members_per_domain},
      instance_(FleetInstance::this_process()),
      callbacks_(std::move(callbacks)),
      log_(std::move(log)),
      queue_(queue),
      counters_(counters),
      cmd_backoff_(options_.reconnect_backoff_initial, options_.reconnect_backoff_max),
      sub_backoff_(options_.reconnect_backoff_initial, options_.reconnect_backoff_max) {}

template <typename F>
void FleetIoLoop::guarded(std::string_view which, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        log_.repeated(
            "callback", store_log::error,
            "fluxguard store: the " + std::string(which) + " callback threw: " + e.what());
    } catch (...) {
        log_.repeated("callback", store_log::error,
                      "fluxguard store: the " + std::string(which) + " callback threw");
    }
}

void FleetIoLoop::run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        try {
            turn();
            wait(stop);
        } catch (const std::exception& e) {
            // Nothing here is expected to throw but allocation; whatever it
            // was, start over from a clean connection rather than die.
            log_.repeated("exception", store_log::error,
                          std::string("fluxguard store: internal error: ") + e.what());
            if (cmd_)
                lose_connection("internal error");
            else
                cmd_retry_at_ = Clock::now() + cmd_backoff_.next();
        }
    }
    if (cmd_ && options_.register_instance) leave();
    cmd_.reset();
    sub_.reset();
    counters_.connected.store(false);
}

void FleetIoLoop::turn() {
    auto now = Clock::now();
    if (!cmd_ && now >= cmd_retry_at_) connect();
    if (cmd_ && !sub_ && Clock::now() >= sub_retry_at_) {
        connect_subscriber();
        if (sub_ && cmd_) resync();  // caught up on whatever was missed meanwhile
    }
    if (cmd_) send_events();
    if (cmd_) send_updates();
    if (cmd_ && Clock::now() >= resync_at_) {
        if (master_moved()) return;
        check_subscriber();
        resync();
    }
    if (cmd_ && options_.register_instance && Clock::now() >= heartbeat_at_) heartbeat();
    report_drops();
}

RedisConnectParams FleetIoLoop::params(const RedisEndpoint& endpoint) const {
    return {endpoint,
            options_.username,
            options_.password,
            options_.database,
            options_.connect_timeout,
            options_.command_timeout,
            options_.register_instance ? instance_.client_name() : std::string()};
}

void FleetIoLoop::connect() {
    RedisEndpoint target = options_.address;
    RedisError error;
    if (!options_.sentinels.empty()) {
        auto master = ask_sentinels(sentinel_query(), error);
        if (!master) {
            counters_.errors.fetch_add(1);
            report(LinkState::no_master, error.message);
            cmd_retry_at_ = Clock::now() + cmd_backoff_.next();
            return;
        }
        if (!last_master_ || *last_master_ != *master)
            log_.state(store_log::info, "fluxguard store: sentinels name " + master->to_string() +
                                            " as master '" + options_.sentinel_master + "'");
        last_master_ = *master;
        target = *master;
    }
    // describe() names the address unless it comes from the sentinels.
    const std::string master = options_.sentinels.empty() ? "" : "master " + target.to_string();
    auto conn = RedisConnection::open(params(target), error);
    if (!conn) {
        counters_.errors.fetch_add(1);
        report(error.kind == RedisFailure::auth ? LinkState::auth_failed : LinkState::unreachable,
               (master.empty() ? "" : master + ": ") + error.message);
        cmd_retry_at_ = Clock::now() + cmd_backoff_.next();
        return;
    }
    cmd_ = std::move(conn);
    if (!load_script()) return;
    cmd_backoff_.reset();
    counters_.connected.store(true);
    report(LinkState::connected, master);
    // Subscribe before reading the blocked set, so no event falls between.
    connect_subscriber();
    if (cmd_) send_events();
    if (cmd_) resync();
    if (cmd_ && options_.register_instance) heartbeat();
}

SentinelQuery FleetIoLoop::sentinel_query() const {
    return {options_.sentinels,         options_.sentinel_master, options_.sentinel_username,
            options_.sentinel_password, options_.connect_timeout, options_.command_timeout};
}

bool FleetIoLoop::master_moved() {
    if (options_.sentinels.empty()) return false;
    // After a failover the old master keeps accepting writes until Sentinel
    // demotes it (and only then drops our connection), and those writes are
    // lost. Asking once per resync interval bounds that window.
    RedisError error;
    auto master = ask_sentinels(sentinel_query(), error);
    if (!master) {
        log_.repeated("sentinel-check", store_log::warning,
                      "fluxguard store: cannot confirm the master with the sentinels: " +
                          error.message + "; staying on " + cmd_->endpoint().to_string());
        return false;
    }
    if (*master == cmd_->endpoint()) return false;
    lose_connection("the sentinels moved master '" + options_.sentinel_master + "' to " +
                    master->to_string());
    cmd_retry_at_ = Clock::now();  // a planned move: no backoff
    return true;
}

bool FleetIoLoop::load_script() {
    auto reply = cmd_->command(fleet_script::load());
    counters_.round_trips.fetch_add(1);
    if (!reply) {
        lose_connection(cmd_->error().message);
        return false;
    }
    if (reply->type != REDIS_REPLY_STRING || reply->len == 0) {
        const std::string why =
            is_error(*reply) ? std::string(text_of(*reply)) : std::string("unexpected reply");
        counters_.errors.fetch_add(1);
        lose_connection("SCRIPT LOAD failed: " + why);
        return false;
    }
    sha_.assign(reply->str, reply->len);
    return true;
}

void FleetIoLoop::connect_subscriber() {
    RedisError error;
    auto conn = RedisConnection::open(params(cmd_->endpoint()), error);
    std::string why;
    if (conn) {
        // SUBSCRIBE's confirmation is read synchronously (bounded by the
        // command timeout); afterwards the connection is only read when
        // poll() says so.
        auto reply = conn->command({"SUBSCRIBE", layout_.channel()});
        if (!reply) {
            why = conn->error().message;
        } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
                   starts_with(*reply->element[0], "subscribe")) {
            sub_ = std::move(conn);
            sub_backoff_.reset();
            sub_ping_outstanding_ = false;
            std::vector<RedisReplyPtr> early;
            const bool ok = sub_->read_buffered(early);
            for (const auto& r : early) handle_pubsub(*r);
            if (!ok) drop_subscriber(sub_->error().message);
            return;
        } else {
            why = is_error(*reply) ? std::string(text_of(*reply)) : "unexpected SUBSCRIBE reply";
        }
    } else {
        why = error.message;
    }
    counters_.errors.fetch_add(1);
    log_.repeated("subscriber", store_log::warning,
                  "fluxguard store: cannot subscribe to " + layout_.channel() + ": " + why +
                      "; blocks from other instances arrive with the next resync until it works");
    sub_retry_at_ = Clock::now() + sub_backoff_.next();
}

// By value on purpose: callers pass cmd_->error().message, freed by cmd_.reset().
// NOLINTNEXTLINE(performance-unnecessary-value-param)
// cppcheck-suppress passedByValue
void FleetIoLoop::lose_connection(std::string reason) {
    cmd_.reset();
    sub_.reset();
    sha_.clear();
    counters_.connected.store(false);
    report(LinkState::lost, reason);
    cmd_retry_at_ = Clock::now() + cmd_backoff_.next();
    sub_retry_at_ = {};
}

// By value on purpose: callers pass sub_->error().message, freed by sub_.reset().
// NOLINTNEXTLINE(performance-unnecessary-value-param)
// cppcheck-suppress passedByValue
void FleetIoLoop::drop_subscriber(std::string reason) {
    sub_.reset();
    counters_.errors.fetch_add(1);
    log_.repeated("subscriber", store_log::warning,
                  "fluxguard store: lost the subscription to " + layout_.channel() + ": " + reason +
                      "; resubscribing");
    sub_retry_at_ = Clock::now() + sub_backoff_.next();
}

void FleetIoLoop::send_updates() {
    for (int round = 0; round < kBatchesPerTurn && cmd_; ++round) {
        batch_.clear();
        if (queue_.pop_updates(batch_, options_.batch_size) == 0) break;
        merge_batch(batch_);
        poll_subscriber_now();
    }
}

void FleetIoLoop::merge_batch(const std::vector<FleetUpdate>& batch) {
    std::vector<RedisArgv> commands;
    commands.reserve(batch.size());
    for (const auto& u : batch) commands.push_back(fleet_script::merge(sha_, layout_, u, limits_));
    std::vector<std::size_t> todo(batch.size());
    for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;

    // At most two passes: the second only re-sends what got NOSCRIPT (Redis
    // restarted with an empty script cache, or SCRIPT FLUSH) after a reload.
    for (int pass = 0; pass < 2 && cmd_ && !todo.empty(); ++pass) {
        std::vector<RedisArgv> sending;
        sending.reserve(todo.size());
        for (auto i : todo) {
            commands[i][1] = sha_;
            sending.push_back(std::move(commands[i]));
        }
        std::vector<RedisReplyPtr> replies;
        const bool ok = cmd_->pipeline(sending, replies);
        counters_.round_trips.fetch_add(1);
        std::vector<std::size_t> again;
        bool failover = false;
        std::string failover_text;
        for (std::size_t j = 0; j < replies.size(); ++j) {
            const auto& r = *replies[j];
            const auto i = todo[j];
            if (!is_error(r)) {
                auto view = fleet_script::parse_merge_reply(r, batch[i].domain);
                if (view) {
                    if (callbacks_.on_view) guarded("on_view", [&] { callbacks_.on_view(*view); });
                } else {
                    counters_.errors.fetch_add(1);
                    command_error("merge", "unexpected script reply");
                }
            } else if (starts_with(r, "NOSCRIPT") && pass == 0) {
                commands[i] = std::move(sending[j]);
                again.push_back(i);
            } else if (classify_error_reply(text_of(r)) == RedisFailure::failover) {
                counters_.errors.fetch_add(1);
                failover = true;
                failover_text = std::string(text_of(r));
            } else {
                counters_.errors.fetch_add(1);
                command_error("merge", text_of(r));
            }
        }
        if (!ok) {
            // Unanswered, plus those that were to be re-sent: all lost.
            counters_.errors.fetch_add(sending.size() - replies.size() + again.size());
            lose_connection(cmd_->error().message);
            return;
        }
        if (failover) {
            counters_.errors.fetch_add(again.size());
            lose_connection("not a writable master: " + failover_text);
            return;
        }
        todo = std::move(again);
        if (!todo.empty() && !load_script()) {
            counters_.errors.fetch_add(todo.size());
            return;
        }
    }
}

void FleetIoLoop::send_events() {
    std::deque<FleetEvent> fresh;
    queue_.pop_events(fresh);
    for (auto& e : fresh) {
        if (pending_events_.size() >= kMaxPendingEvents) {
            pending_events_.pop_front();
            counters_.dropped.fetch_add(1);
            log_.repeated("events-dropped", store_log::warning,
                          "fluxguard store: too many blocks/unblocks waiting for Redis; dropped "
                          "the oldest");
        }
        pending_events_.push_back(std::move(e));
    }
    if (pending_events_.empty() || !cmd_ || Clock::now() < events_retry_at_) return;

    const std::size_t n = std::min(pending_events_.size(), options_.batch_size);
    std::vector<RedisArgv> commands;
    commands.reserve(n);
    const auto now = unix_now();
    for (std::size_t i = 0; i < n; ++i) {
        std::visit(
            [&](const auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, FleetBlock>)
                    commands.push_back(fleet_script::block(sha_, layout_, e, encode_event(e), now,
                                                           options_.entry_ttl.count()));
                else if constexpr (std::is_same_v<T, ClientHit>)
                    commands.push_back(fleet_script::client(sha_, layout_, e, "dns",
                                                            options_.entry_ttl.count(),
                                                            options_.max_members_per_domain));
                else
                    commands.push_back(
                        fleet_script::unblock(sha_, layout_, e.domain, encode_event(e)));
            },
            pending_events_[i]);
    }
    std::vector<RedisReplyPtr> replies;
    const bool ok = cmd_->pipeline(commands, replies);
    counters_.round_trips.fetch_add(1);
    // Keep what failed, in order, for the next attempt; drop what Redis took.
    std::deque<FleetEvent> keep;
    bool reload = false, failover = false;
    std::string why;
    for (std::size_t i = 0; i < n; ++i) {
        const redisReply* r = i < replies.size() ? replies[i].get() : nullptr;
        if (r && !is_error(*r)) continue;
        if (r) {
            if (starts_with(*r, "NOSCRIPT")) {
                reload = true;
            } else {
                counters_.errors.fetch_add(1);
                if (classify_error_reply(text_of(*r)) == RedisFailure::failover) {
                    failover = true;
                    why = std::string(text_of(*r));
                } else {
                    command_error("publish", text_of(*r));
                    // A refused write (out of memory, no permission) will
                    // not succeed at once: try again at the next resync.
                    events_retry_at_ = Clock::now() + options_.resync_interval;
                }
            }
        }
        keep.push_back(std::move(pending_events_[i]));
    }
    pending_events_.erase(pending_events_.begin(),
                          pending_events_.begin() + static_cast<std::ptrdiff_t>(n));
    pending_events_.insert(pending_events_.begin(), std::make_move_iterator(keep.begin()),
                           std::make_move_iterator(keep.end()));
    if (!ok) {
        counters_.errors.fetch_add(n - replies.size());
        lose_connection(cmd_->error().message);
    } else if (failover) {
        lose_connection("not a writable master: " + why);
    } else if (reload) {
        load_script();  // the events are retried on the next turn
    }
}

void FleetIoLoop::resync() {
    resync_at_ = Clock::now() + options_.resync_interval;
    auto reply = cmd_->command({"ZRANGE", layout_.blocked(), "0", "-1", "WITHSCORES"});
    counters_.round_trips.fetch_add(1);
    if (!reply) {
        lose_connection(cmd_->error().message);
        return;
    }
    if (is_error(*reply)) {
        reply_error("resync", *reply);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        counters_.errors.fetch_add(1);
        command_error("resync", "unexpected ZRANGE reply");
        return;
    }
    std::unordered_set<std::string> present;
    std::vector<std::pair<std::string, std::int64_t>> fetch;
    for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
        const auto* m = reply->element[i];
        const auto* s = reply->element[i + 1];
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING || m->len == 0) continue;
        std::string domain(m->str, m->len);
        const auto since = score_of(text_of(*s)).value_or(0);
        auto it = mirror_.find(domain);
        if (it == mirror_.end() || it->second != since) fetch.emplace_back(domain, since);
        present.insert(std::move(domain));
    }
    reply.reset();

    // Blocks this instance has not heard of: fetch their details, a pipeline
    // of HGETALL per batch.
    for (std::size_t start = 0; start < fetch.size() && cmd_; start += options_.batch_size) {
        const std::size_t end = std::min(fetch.size(), start + options_.batch_size);
        std::vector<RedisArgv> commands;
        for (std::size_t i = start; i < end; ++i)
            commands.push_back({"HGETALL", layout_.block_key(fetch[i].first)});
        std::vector<RedisReplyPtr> replies;
        const bool ok = cmd_->pipeline(commands, replies);
        counters_.round_trips.fetch_add(1);
        if (!ok) {
            lose_connection(cmd_->error().message);
            return;
        }
        for (std::size_t i = start; i < end; ++i) {
            const auto& r = *replies[i - start];
            FleetBlock b;
            b.domain = fetch[i].first;
            b.since = fetch[i].second;
            // A bare ZADD to the blocked set (an operator with redis-cli) is a
            // block too; it just has no details.
            b.source = "redis";
            b.reason = "listed in " + layout_.blocked();
            if (r.type == REDIS_REPLY_ARRAY) {
                for (std::size_t f = 0; f + 1 < r.elements; f += 2) {
                    const auto* k = r.element[f];
                    const auto* v = r.element[f + 1];
                    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
                    const auto key = text_of(*k);
                    const std::string value(v->str, v->len);
                    if (key == "score") {
                        double score = 0;
                        auto [p, ec] =
                            std::from_chars(value.data(), value.data() + value.size(), score);
                        if (ec == std::errc() && std::isfinite(score)) b.score = score;
                    } else if (key == "source") {
                        b.source = value;
                    } else if (key == "reason") {
                        b.reason = value;
                    } else if (key == "evidence") {
                        b.evidence_json = value;
                    }
                }
            }
            mirror_[b.domain] = b.since;
            if (callbacks_.on_block) guarded("on_block", [&] { callbacks_.on_block(b); });
        }
    }
    if (!cmd_) return;
    // Blocks gone from Redis while this instance was not listening.
    std::vector<std::string> gone;
    for (const auto& [domain, since] : mirror_)
        if (!present.contains(domain)) gone.push_back(domain);
    for (const auto& domain : gone) {
        mirror_.erase(domain);
        if (callbacks_.on_unblock) guarded("on_unblock", [&] { callbacks_.on_unblock(domain); });
    }
    if (cmd_ && callbacks_.on_allow_list) read_allow_list();
}

void FleetIoLoop::read_allow_list() {
    auto reply = cmd_->command({"ZRANGE", layout_.prefix() + "allow", "0", "-1"});
    counters_.round_trips.fetch_add(1);
    if (!reply) {
        lose_connection(cmd_->error().message);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        counters_.errors.fetch_add(1);
        command_error("allow list", is_error(*reply) ? text_of(*reply) : "unexpected reply");
        return;
    }
    std::vector<std::string> domains;
    for (std::size_t i = 0; i < reply->elements; ++i) {
        const auto* m = reply->element[i];
        if (m->type == REDIS_REPLY_STRING && m->len > 0) domains.emplace_back(m->str, m->len);
    }
    guarded("on_allow_list", [&] { callbacks_.on_allow_list(domains); });
}

void FleetIoLoop::heartbeat() {
    // Every kHeartbeatInterval, or every resync interval when that is
    // shorter (the tests' 500 ms); fluxctl status needs one within kInstanceTtl.
    heartbeat_at_ =
        Clock::now() + std::min<Clock::duration>(kHeartbeatInterval, options_.resync_interval);
    auto reply = cmd_->command(
        fleet_script::heartbeat(sha_, layout_, instance_, counters_.snapshot(), unix_now()));
    counters_.round_trips.fetch_add(1);
    if (!reply) {
        lose_connection(cmd_->error().message);
    } else if (starts_with(*reply, "NOSCRIPT")) {
        heartbeat_at_ = Clock::now();  // again on the next turn
        load_script();
    } else if (is_error(*reply)) {
        reply_error("heartbeat", *reply);
    }
}

void FleetIoLoop::leave() {
    // Best effort, bounded by the command timeout: an instance that cannot
    // say goodbye leaves the registry when its hash expires.
    cmd_->command(fleet_script::leave(sha_, layout_, instance_));
    counters_.round_trips.fetch_add(1);
}

void FleetIoLoop::check_subscriber() {
    if (!sub_) return;
    // A PING a whole resync interval old with no PONG: the subscription is
    // dead in a way TCP has not noticed (paused or wedged server, lost
    // packets). Replace it; the resync that follows covers the gap.
    if (sub_ping_outstanding_) {
        drop_subscriber("no reply to PING within " +
                        std::to_string(options_.resync_interval.count()) + " ms");
        return;
    }
    if (!sub_->send({"PING"})) {
        drop_subscriber(sub_->error().message);
        return;
    }
    sub_ping_outstanding_ = true;
}

void FleetIoLoop::poll_subscriber_now() {
    if (!sub_) return;
    pollfd p{sub_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) read_subscriber();
}

void FleetIoLoop::read_subscriber() {
    std::vector<RedisReplyPtr> replies;
    const bool ok = sub_->read_available(replies);
    for (const auto& r : replies) handle_pubsub(*r);
    if (ok || !sub_) return;
    std::string why = sub_->error().message;
    // The subscriber is always reading, so when the server goes away it is
    // usually first to notice. Check the command connection at once: then a
    // dead server is reported once, as such, rather than as a lost
    // subscription now and a lost server at the next update.
    if (cmd_) {
        auto pong = cmd_->command({"PING"});
        counters_.round_trips.fetch_add(1);
        if (!pong) {
            lose_connection(cmd_->error().message);
            return;
        }
    }
    drop_subscriber(std::move(why));
}

void FleetIoLoop::handle_pubsub(const redisReply& r) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements < 1) return;
    const auto& kind = *r.element[0];
    if (starts_with(kind, "pong")) {
        sub_ping_outstanding_ = false;
        return;
    }
    if (!starts_with(kind, "message") || r.elements != 3 ||
        r.element[2]->type != REDIS_REPLY_STRING)
        return;
    auto event = decode_event(text_of(*r.element[2]));
    if (!event) {
        counters_.errors.fetch_add(1);
        log_.repeated("bad-message", store_log::warning,
                      "fluxguard store: ignored a malformed message on " + layout_.channel());
        return;
    }
    apply(std::move(*event));
}

void FleetIoLoop::apply(FleetEvent&& event) {
    if (auto* b = std::get_if<FleetBlock>(&event)) {
        mirror_[b->domain] = b->since;
        if (callbacks_.on_block) guarded("on_block", [&] { callbacks_.on_block(*b); });
    } else if (std::holds_alternative<FleetUnblock>(event)) {
        const auto& domain = domain_of(event);
        mirror_.erase(domain);
        if (callbacks_.on_unblock) guarded("on_unblock", [&] { callbacks_.on_unblock(domain); });
    }
}

void FleetIoLoop::wait(const std::atomic<bool>& stop) {
    const auto now = Clock::now();
    auto until = now + std::chrono::seconds(1);
    if (!cmd_) {
        until = std::min(until, cmd_retry_at_);
    } else {
        until = std::min(until, resync_at_);
        if (options_.register_instance) until = std::min(until, heartbeat_at_);
        if (!sub_) until = std::min(until, sub_retry_at_);
        if (!pending_events_.empty()) until = std::min(until, events_retry_at_);
        // Only a connected store wants waking for new work: while Redis is
        // away, submissions just wait in the queue (or are dropped when it
        // is full) and producers are spared the eventfd write.
        queue_.arm();
        if (queue_.has_updates() || queue_.has_events()) until = now;
    }
    if (stop.load()) until = now;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    pollfd fds[2] = {{queue_.wake_fd(), POLLIN, 0}, {sub_ ? sub_->fd() : -1, POLLIN, 0}};
    const int ready =
        ::poll(fds, sub_ ? 2 : 1, static_cast<int>(std::clamp<long long>(ms, 0, 1000)));
    queue_.disarm();
    if (ready > 0 && sub_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) read_subscriber();
}

void FleetIoLoop::report(LinkState state, const std::string& detail) {
    // Losing a connection that never finished connecting (SCRIPT LOAD timed
    // out, say) is just another failed attempt.
    if (state == LinkState::lost && state_ != LinkState::connected) state = LinkState::unreachable;
    if (state == state_) return;  // one line per change of state, not per attempt
    state_ = state;
    const std::string where = describe(options_);
    switch (state) {
        case LinkState::connected:
            log_.state(store_log::info, "fluxguard store: connected to " + where +
                                            (detail.empty() ? "" : " (" + detail + ")"));
            break;
        case LinkState::lost:
            log_.state(store_log::warning,
                       "fluxguard store: lost " + where + ": " + detail + "; reconnecting");
            break;
        case LinkState::unreachable:
            log_.state(store_log::warning,
                       "fluxguard store: cannot use " + where + ": " + detail +
                           "; retrying with backoff (at most every " +
                           std::to_string(options_.reconnect_backoff_max.count()) + " ms)");
            break;
        case LinkState::auth_failed:
            log_.state(store_log::error, "fluxguard store: " + where +
                                             " rejected the credentials: " + detail +
                                             "; check username/password, retrying with backoff");
            break;
        case LinkState::no_master:
            log_.state(store_log::error, "fluxguard store: no sentinel could name the master: " +
                                             detail + "; retrying with backoff");
            break;
        case LinkState::starting:
            break;
    }
}

void FleetIoLoop::command_error(std::string_view what, std::string_view text) {
    // One topic per operation: an out-of-memory Redis produces one line per
    // interval per kind of write, with a count, not one per update.
    std::string topic = "error:" + std::string(what);
    log_.repeated(topic, store_log::warning,
                  "fluxguard store: redis refused " + std::string(what) + ": " +
                      std::string(text.substr(0, 200)) +
                      "; state keeps flowing locally, the fleet view is incomplete");
}

// An error reply to one command: a master that is not one (any more) means
// reconnecting; anything else is counted and logged, and the connection stays.
void FleetIoLoop::reply_error(std::string_view what, const redisReply& reply) {
    counters_.errors.fetch_add(1);
    if (classify_error_reply(text_of(reply)) == RedisFailure::failover)
        lose_connection(std::string(text_of(reply)));
    else
        command_error(what, text_of(reply));
}

void FleetIoLoop::report_drops() {
    const auto dropped = counters_.dropped.load();
    if (dropped == reported_drops_) return;
    reported_drops_ = dropped;
    log_.repeated("dropped", store_log::warning,
                  "fluxguard store: queue full, " + std::to_string(dropped) +
                      " submissions dropped so far (redis too slow or away)");
}

}  // namespace fluxguard
