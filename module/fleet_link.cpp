#include "fleet_link.h"

#include <fmt/format.h>

#include <stdexcept>

#include "redis_fleet_store.h"
#include "redis_options.h"

namespace fluxguard {

namespace {

RedisEndpoint endpoint(const std::string& text, const char* key) {
    auto parsed = parse_endpoint(text);
    if (!parsed) throw std::invalid_argument(fmt::format("{} '{}' is not an address", key, text));
    return *parsed;
}

RedisOptions redis_options(const FleetConfig& c) {
    RedisOptions o;
    o.address = endpoint(c.server, "redis-server");
    o.username = c.user;
    o.password = c.password;
    o.database = c.database;
    o.key_prefix = c.key_prefix;
    for (const auto& s : c.sentinels) o.sentinels.push_back(endpoint(s, "redis-sentinel"));
    o.sentinel_master = c.sentinel_master;
    o.queue_capacity = c.queue_size;
    return o;
}

}  // namespace

FleetLink::FleetLink(Engine& engine, const FleetConfig& config, Log log)
    : engine_(engine), log_(std::move(log)) {
    RedisOptions options = redis_options(config);
    if (auto problems = validate(options); !problems.empty())
        throw std::invalid_argument(problems.front());
    FleetStore::Callbacks callbacks;
    callbacks.on_view = [this](const FleetView& view) {
        if (auto block = engine_.judge_fleet(view)) store_->publish_block(std::move(*block));
    };
    callbacks.on_block = [this](const FleetBlock& block) {
        engine_.apply_block(block);
    };
    callbacks.on_unblock = [this](const std::string& domain) {
        if (engine_.apply_unblock(domain))
            log_(LogLevel::info, fmt::format("fluxguard: {} unblocked by the fleet", domain));
    };
    callbacks.on_allow_list = [this](const std::vector<std::string>& domains) {
        engine_.set_operator_allow_list(domains);
    };
    auto store_log = [this](int level, std::string_view message) {
        log_(level >= 2 ? LogLevel::error : level == 1 ? LogLevel::warning : LogLevel::info,
             message.starts_with("fluxguard") ? std::string(message)
                                              : fmt::format("fluxguard: {}", message));
    };
    log_(LogLevel::info, fmt::format("fluxguard: sharing state through Redis at {}",
                                     describe(options)));
    store_ = std::make_unique<RedisFleetStore>(std::move(options), std::move(callbacks),
                                               std::move(store_log));
}

// The store's thread calls back into this object: stop it first.
FleetLink::~FleetLink() { store_.reset(); }

void FleetLink::share(FleetUpdate update, const std::optional<Evidence>& local_block) {
    if (local_block) {
        const auto& e = *local_block;
        store_->publish_block({e.domain, e.score, e.time, "detected",
                               fmt::format("fast flux: {} score {:.1f} > {:g}", e.domain, e.score,
                                           e.threshold),
                               to_json_line(e, "block")});
    }
    if (!update.domain.empty()) store_->submit(std::move(update));
}

FleetStats FleetLink::stats() const { return store_->stats(); }

}  // namespace fluxguard
