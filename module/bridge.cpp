// The C++ side of the module: turns the glue's plain C records into the
// core's Observation and answers block look-ups. No exception crosses into C.
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <span>

#include "config_parser.h"
#include "dns_name.h"
#include "engine.h"
#include "fleet_link.h"
#include "module_metrics.h"
#include "fluxguard_abi.h"
#include "scoring_thread.h"

using namespace fluxguard;

// Members in this order, so that each thread stops before what it calls
// into goes: metrics (reads all), then the scoring thread (calls the fleet
// link and the engine), then the fleet link (calls the engine).
struct fg_engine {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<FleetLink> fleet;
    std::unique_ptr<ScoringThread> scoring;
    std::unique_ptr<ModuleMetrics> metrics;
};

namespace {

std::span<const std::uint8_t> bytes(const std::uint8_t* p, std::size_t n) { return {p, n}; }

void copy_truncated(char* out, std::size_t size, std::string_view text) {
    if (size == 0) return;
    const auto n = std::min(size - 1, text.size());
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

Observation to_observation(const fg_observation& in) {
    Observation obs;
    obs.time = in.time;
    obs.qtype = in.qtype;
    obs.rcode = in.rcode;
    obs.qname = name_from_wire(bytes(in.qname, in.qname_len)).value_or("");
    std::vector<Record> answer;
    answer.reserve(in.answer_count);
    // Records of one rrset share their owner: decode it once.
    std::span<const std::uint8_t> last_wire;
    std::optional<std::string> last_owner;
    for (std::size_t i = 0; i < in.answer_count; ++i) {
        const fg_rr& rr = in.answer[i];
        const auto wire = bytes(rr.owner, rr.owner_len);
        if (i == 0 || !std::equal(wire.begin(), wire.end(), last_wire.begin(), last_wire.end()))
            last_owner = name_from_wire(wire);
        last_wire = wire;
        if (!last_owner) continue;
        answer.push_back({*last_owner, rr.type, rr.ttl, {rr.rdata, rr.rdata + rr.rdata_len}});
    }
    follow_answer(obs, answer);
    if (in.zone) obs.zone = name_from_wire(bytes(in.zone, in.zone_len)).value_or("");
    for (std::size_t i = 0; i < in.delegation_count; ++i) {
        const fg_rr& rr = in.delegation[i];
        if (rr.type != type_ns) continue;
        auto ns = name_from_wire(bytes(rr.rdata, rr.rdata_len));
        if (!ns) continue;
        auto known = std::find_if(obs.name_servers.begin(), obs.name_servers.end(),
                                  [&](const NameServer& n) { return n.name == *ns; });
        if (known == obs.name_servers.end()) obs.name_servers.push_back({std::move(*ns), rr.ttl, {}});
    }
    for (std::size_t i = 0; i < in.delegation_count; ++i) {
        const fg_rr& rr = in.delegation[i];
        if (rr.type != type_a && rr.type != type_aaaa) continue;
        auto owner = name_from_wire(bytes(rr.owner, rr.owner_len));
        auto ip = IpAddress::from_rdata(bytes(rr.rdata, rr.rdata_len));
        for (auto& ns : obs.name_servers)
            if (owner && ip && ns.name == *owner &&
                std::find(ns.addresses.begin(), ns.addresses.end(), *ip) == ns.addresses.end())
                ns.addresses.push_back(*ip);
    }
    return obs;
}

fg_log_fn g_log = nullptr;

void log_line(LogLevel level, std::string_view message);

// On the scoring thread: score and share with the fleet (the engine purges
// the resolver's cache when it blocks).
void score(fg_engine& engine, const fg_observation& in) {
    try {
        const Observation obs = to_observation(in);
        FleetUpdate update;
        auto outcome = engine.engine->observe(obs, engine.fleet ? &update : nullptr);
        if (engine.fleet) engine.fleet->share(std::move(update), outcome.new_block);
    } catch (const std::exception& e) {
        log_line(LogLevel::error, fmt::format("fluxguard: observation dropped: {}", e.what()));
    } catch (...) {
        log_line(LogLevel::error, "fluxguard: observation dropped");
    }
}

// One line of printable ASCII per message, whatever it quotes (names and
// reasons from the fleet channel, which anyone who can PUBLISH writes;
// Redis's own replies): a newline in them would forge log lines.
void log_line(LogLevel level, std::string_view message) {
    if (!g_log) return;
    const std::string text = config_parser::printable(message);
    g_log(level == LogLevel::info ? 0 : level == LogLevel::warning ? 1 : 2, text.c_str());
}

}  // namespace

extern "C" {

fg_engine* fg_engine_create(const char* config_path, fg_log_fn log, fg_purge_fn purge,
                            void* purge_arg, char* error, size_t error_size) {
    try {
        g_log = log;
        const std::string path = config_path ? config_path : config_path_from_environment();
        auto config = load_config(path);
        auto purge_name = [purge, purge_arg](const std::string& name) {
            if (auto wire = name_to_wire(name); wire && purge)
                purge(purge_arg, wire->data(), wire->size());
        };
        auto engine = std::make_unique<Engine>(std::move(config), log_line, purge_name);
        const Config& c = engine->config();
        log_line(LogLevel::info,
                 fmt::format("fluxguard: loaded {}: policy {}, asn-database {}, country-database "
                             "{}, {} allowlisted domains",
                             path, to_string(c.policy), c.asn_database, c.country_database,
                             c.allow.size()));
        auto handle = std::make_unique<fg_engine>();
        handle->engine = std::move(engine);
        if (c.fleet.redis) {
            try {
                handle->fleet = std::make_unique<FleetLink>(*handle->engine, c.fleet, log_line);
            } catch (const std::invalid_argument& e) {
                throw ConfigError(fmt::format("{}: {}", path, e.what()));
            }
        }
        {
            fg_engine* raw = handle.get();
            handle->scoring = std::make_unique<ScoringThread>(
                [raw](const fg_observation& obs) { score(*raw, obs); });
        }
        if (!c.metrics_address.empty()) {
            try {
                handle->metrics = std::make_unique<ModuleMetrics>(
                    *handle->engine, handle->fleet.get(), *handle->scoring, c.metrics_address,
                    std::string(to_string(c.policy)).c_str());
            } catch (const std::exception& e) {
                throw ConfigError(fmt::format("{}: metrics-address '{}': {}", path,
                                              c.metrics_address, e.what()));
            }
            log_line(LogLevel::info, fmt::format("fluxguard: metrics on http://{}/metrics",
                                                 c.metrics_address));
        }
        return handle.release();
    } catch (const GeoError& e) {
        copy_truncated(error, error_size,
                       fmt::format("{}: {}",
                                   config_path ? config_path : config_path_from_environment(),
                                   e.what()));
    } catch (const std::exception& e) {
        copy_truncated(error, error_size, e.what());
    } catch (...) {
        copy_truncated(error, error_size, "unknown error");
    }
    return nullptr;
}

void fg_engine_destroy(fg_engine* engine) { delete engine; }

void fg_engine_settings(const fg_engine* engine, fg_settings* out) {
    const Config& c = engine->engine->config();
    *out = fg_settings{};
    out->policy = c.policy == Policy::monitor    ? FG_POLICY_MONITOR
                  : c.policy == Policy::sinkhole ? FG_POLICY_SINKHOLE
                                                 : FG_POLICY_NXDOMAIN;
    out->rewrite_ttl = c.rewrite_ttl;
    if (c.sinkhole_ipv4) {
        out->has_sinkhole_ipv4 = 1;
        std::memcpy(out->sinkhole_ipv4, c.sinkhole_ipv4->bytes().data(), 4);
    }
    if (c.sinkhole_ipv6) {
        out->has_sinkhole_ipv6 = 1;
        std::memcpy(out->sinkhole_ipv6, c.sinkhole_ipv6->bytes().data(), 16);
    }
}

int fg_engine_blocked(const fg_engine* engine, const uint8_t* name, size_t name_len,
                      fg_block* out) {
    try {
        if (engine->engine->blocklist().size() == 0) return 0;
        auto text = name_from_wire(bytes(name, name_len));
        if (!text) return 0;
        auto block = engine->engine->blocked(*text);
        if (!block) return 0;
        if (engine->metrics) engine->metrics->rewritten();
        auto wire = name_to_wire(block->domain);
        if (!wire || wire->size() > sizeof out->domain_wire) return 0;
        std::memcpy(out->domain_wire, wire->data(), wire->size());
        out->domain_wire_len = wire->size();
        // The reason reaches clients as the Extended DNS Error's text (RFC
        // 8914: UTF-8) and may come from anyone who can PUBLISH on the fleet
        // channel: a byte a client library cannot decode loses it the answer.
        copy_truncated(out->reason, sizeof out->reason, config_parser::printable(block->reason));
        return 1;
    } catch (...) {
        return 0;  // fail open: an answer is better than a crash
    }
}

void fg_engine_observe(fg_engine* engine, const fg_observation* in) {
    try {
        if (engine->metrics) engine->metrics->observed();
        engine->scoring->submit(*in);
    } catch (...) {
        // Nothing here allocates; this only keeps an exception (a failed
        // mutex lock) from crossing into C. The answer goes unscored.
    }
}

void fg_engine_client_hit(fg_engine* engine, const uint8_t* name, size_t name_len,
                          const sockaddr_storage* addr, int64_t time) {
    try {
        if (!engine->engine->config().fleet.record_clients) return;
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = addr->ss_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
        if ((addr->ss_family != AF_INET && addr->ss_family != AF_INET6) ||
            !inet_ntop(addr->ss_family, raw, text, sizeof text))
            return;
        auto qname = name_from_wire(bytes(name, name_len));
        if (!qname) return;
        if (engine->metrics) engine->metrics->client_hit();
        if (engine->fleet) {
            engine->fleet->record_client({*qname, text, time});
        } else {
            log_line(LogLevel::info,
                     fmt::format("fluxguard: client {} asked for blocked {}", text, *qname));
        }
    } catch (...) {
        // Attribution is best effort; the answer has already been decided.
    }
}

size_t fg_engine_memory(const fg_engine* engine) {
    return engine->engine->memory_bytes() + engine->scoring->memory_bytes();
}

}  // extern "C"
