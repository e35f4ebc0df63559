// Operator decisions go through the same store the resolvers use, and the
// command waits until the decision has come back over the store's pub/sub
// channel: then every subscribed resolver has it too.
#include "fleet_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <mutex>

#include "configuration.h"
#include "dns_name.h"
#include "redis_fleet_store.h"
#include "redis_options.h"

namespace fluxguard {

namespace {

constexpr const char* help = R"(usage: fluxctl block|unblock DOMAIN --config FILE [--reason TEXT] [--who NAME]

Publishes an operator's block or unblock of DOMAIN (and every name below it)
to the fleet through the Redis store named in FILE (store: redis), and waits
until the store has delivered it back (at most 10 s). Exit status 0 when
delivered, 1 when not, 2 for bad arguments or configuration.
)";

std::string login_name() {
    const char* user = getlogin();
    return user ? user : "operator";
}

}  // namespace

int fleet_decision(const std::string& command, const std::vector<std::string>& args) {
    std::string domain, config_path, reason = "operator decision", who = login_name();
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::cout << help;
            return 0;
        }
        const bool has_value = i + 1 < args.size();
        if (a == "--config" && has_value) config_path = args[++i];
        else if (a == "--reason" && has_value) reason = args[++i];
        else if (a == "--who" && has_value) who = args[++i];
        else if (!a.starts_with("-") && domain.empty()) domain = a;
        else {
            std::cerr << fmt::format("fluxctl {}: unexpected argument '{}'\n", command, a);
            return 2;
        }
    }
    auto name = normalize_name(domain);
    if (!name || name->empty() || config_path.empty()) {
        std::cerr << help;
        return 2;
    }
    Config config;
    try {
        config = load_config(config_path);
    } catch (const ConfigError& e) {
        std::cerr << "fluxctl: " << e.what() << "\n";
        return 2;
    }
    if (!config.fleet.redis) {
        std::cerr << fmt::format("fluxctl: {}: needs 'store: redis'\n", config_path);
        return 2;
    }
    RedisOptions options;
    auto server = parse_endpoint(config.fleet.server);
    if (!server) {
        std::cerr << fmt::format("fluxctl: {}: bad redis-server\n", config_path);
        return 2;
    }
    options.address = *server;
    options.username = config.fleet.user;
    options.password = config.fleet.password;
    options.database = config.fleet.database;
    options.key_prefix = config.fleet.key_prefix;
    for (const auto& s : config.fleet.sentinels)
        if (auto e = parse_endpoint(s)) options.sentinels.push_back(*e);
    options.sentinel_master = config.fleet.sentinel_master;

    std::mutex mutex;
    std::condition_variable delivered_cv;
    bool delivered = false;
    const bool block = command == "block";
    FleetStore::Callbacks callbacks;
    auto mark = [&](const std::string& d) {
        if (d != *name) return;
        std::lock_guard lock(mutex);
        delivered = true;
        delivered_cv.notify_all();
    };
    if (block) callbacks.on_block = [&](const FleetBlock& b) { mark(b.domain); };
    else callbacks.on_unblock = mark;
    auto log = [](int level, std::string_view message) {
        if (level >= 1) std::cerr << "fluxctl: " << message << "\n";
    };
    RedisFleetStore store(options, std::move(callbacks), log);
    if (block) {
        store.publish_block({*name, 0.0, static_cast<std::int64_t>(std::time(nullptr)), "operator",
                             fmt::format("blocked by {}: {}", who, reason), ""});
    } else {
        store.publish_unblock(*name, reason, who);
    }
    std::unique_lock lock(mutex);
    if (!delivered_cv.wait_for(lock, std::chrono::seconds(10), [&] { return delivered; })) {
        std::cerr << fmt::format("fluxctl: {} of {} not confirmed by the store within 10 s\n",
                                 command, *name);
        return 1;
    }
    std::cout << fmt::format("{}ed {} ({}, by {})\n", command, *name, reason, who);
    return 0;
}

}  // namespace fluxguard
