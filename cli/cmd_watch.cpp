// `fluxctl watch`: blocks and unblocks as they are published on
// <prefix>events, and the sinkhole's hits from its stream, until Ctrl-C.
#include <fmt/format.h>
#include <poll.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "commands.h"
#include "fleet_events.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

using ojson = nlohmann::ordered_json;

struct Printer {
    bool json = false;
    long long remaining = -1;  // events left before --count is reached; -1: no limit

    bool done() const { return remaining == 0; }
    void emit(const ojson& j, const std::string& line) {
        if (done()) return;
        std::cout << (json ? ordered_json_text(j) : line) << "\n" << std::flush;
        if (remaining > 0) --remaining;
    }

    void event(const std::string& message) {
        const auto now = now_seconds();
        auto e = decode_event(message);
        if (!e) {
            std::cerr << "fluxctl watch: ignored a malformed message: "
                      << printable(message.substr(0, 200)) << "\n";
            return;
        }
        if (auto* b = std::get_if<FleetBlock>(&*e)) {
            auto evidence = nlohmann::json::parse(b->evidence_json, nullptr, false);
            ojson j = {{"event", "block"},   {"time", now},       {"domain", b->domain},
                       {"score", b->score},  {"since", b->since}, {"source", b->source},
                       {"reason", b->reason}};
            j["evidence"] = evidence.is_discarded() ? ojson() : ojson::parse(evidence.dump());
            emit(j, fmt::format("{}  block    {}  score {}  source {}  reason \"{}\"",
                                iso_time(now), printable(b->domain), format_number(b->score),
                                printable(b->source), printable(b->reason)));
        } else if (auto* u = std::get_if<FleetUnblock>(&*e)) {
            ojson j = {{"event", "unblock"},
                       {"time", now},
                       {"domain", u->domain},
                       {"who", u->who},
                       {"reason", u->reason}};
            emit(j, fmt::format("{}  unblock  {}  by {}  reason \"{}\"", iso_time(now),
                                printable(u->domain), printable(u->who), printable(u->reason)));
        }
    }

    void hit(const std::string& id, const Reply& fields) {
        ojson j = {{"event", "hit"}, {"id", id}};
        std::map<std::string, std::string> f;
        for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
            f[fields.elements[i].str] = fields.elements[i + 1].str;
            j[fields.elements[i].str] = fields.elements[i + 1].str;
        }
        auto get = [&](const char* k) { return f.count(k) ? f[k] : std::string("-"); };
        emit(j, fmt::format("{}  hit      {} -> {}  {}/{} {}", get("time"),
                            printable(get("client_ip")), printable(get("domain")),
                            printable(get("transport")), printable(get("local_port")),
                            printable(get("protocol"))));
    }
};

int run(const Args& args) {
    Printer printer;
    printer.json = args.flag("--json");
    printer.remaining = args.integer("--count", -1, 1, 1LL << 62);
    const auto ctx = load_context(args);
    bool hits = !args.flag("--no-hits");

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::string last_id;  // the newest hit seen; "" until the stream is first read
    bool announced = false;
    while (!g_stop.load() && !printer.done()) {
        try {
            auto sub = RedisClient::connect(ctx.redis, "fluxctl-watch");
            // Subscribed for sure before saying so: a test (or a person)
            // may publish the moment the banner appears.
            const auto confirm = sub.command({"SUBSCRIBE", ctx.keys.channel()});
            if (confirm.is_error()) throw RedisClientError("SUBSCRIBE: " + confirm.str);
            std::vector<Reply> early = sub.read_buffered();
            std::optional<RedisClient> stream;
            if (hits) {
                stream.emplace(RedisClient::connect(ctx.redis, "fluxctl-watch"));
                if (last_id.empty()) {
                    auto newest = stream->command(
                        {"XREVRANGE", ctx.tool.sinkhole_hits, "+", "-", "COUNT", "1"});
                    if (newest.is_error()) {
                        std::cerr << fmt::format(
                            "fluxctl watch: {}: {}; not following sinkhole hits\n",
                            printable(ctx.tool.sinkhole_hits), newest.str);
                        hits = false;
                        stream.reset();
                    } else {
                        last_id =
                            newest.elements.empty() ? "0-0" : newest.elements[0].elements[0].str;
                    }
                }
            }
            if (!announced) {
                std::cerr << fmt::format("fluxctl watch: following {}{} on {} (Ctrl-C to stop)\n",
                                         printable(ctx.keys.channel()),
                                         hits ? " and " + printable(ctx.tool.sinkhole_hits) : "",
                                         describe_target(ctx.redis));
                announced = true;
            }
            for (const auto& r : early)
                if (r.is_array() && r.elements.size() == 3 && r.elements[0].str == "message")
                    printer.event(r.elements[2].str);
            bool xread_pending = false;
            while (!g_stop.load() && !printer.done()) {
                if (stream && !xread_pending) {
                    stream->send({"XREAD", "COUNT", "100", "BLOCK", "1000", "STREAMS",
                                  ctx.tool.sinkhole_hits, last_id});
                    xread_pending = true;
                }
                pollfd fds[2] = {{sub.fd(), POLLIN, 0}, {stream ? stream->fd() : -1, POLLIN, 0}};
                const int n = ::poll(fds, stream ? 2 : 1, 250);
                if (n < 0) continue;  // EINTR: Ctrl-C
                if (fds[0].revents) {
                    for (const auto& r : sub.read_available()) {
                        if (r.is_array() && r.elements.size() == 3 &&
                            r.elements[0].str == "message")
                            printer.event(r.elements[2].str);
                    }
                }
                if (stream && fds[1].revents) {
                    for (const auto& r : stream->read_available()) {
                        xread_pending = false;
                        if (r.is_error()) {
                            std::cerr << "fluxctl watch: sinkhole stream: " << r.str
                                      << "; not following it\n";
                            hits = false;
                            break;
                        }
                        for (const auto& s : r.elements)  // [key, entries]
                            if (s.elements.size() == 2)
                                for (const auto& entry : s.elements[1].elements) {  // [id, fields]
                                    if (entry.elements.size() != 2) continue;
                                    last_id = entry.elements[0].str;
                                    printer.hit(last_id, entry.elements[1]);
                                }
                    }
                    if (!hits) stream.reset();
                }
            }
        } catch (const RedisClientError& e) {
            if (g_stop.load()) break;
            std::cerr << "fluxctl watch: " << e.what()
                      << "; reconnecting (events published meanwhile are missed)\n";
            for (int i = 0; i < 10 && !g_stop.load(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    return 0;
}

}  // namespace

const Command watch_command{
    "watch",
    "watch [--count N] [--no-hits] [--json] [--config FILE]",
    "follow new blocks and unblocks (and sinkhole hits) live",
    "Subscribes to the fleet's event channel (<prefix>events) and prints every block\n"
    "and unblock as it is published, and follows the sinkhole's stream\n"
    "(<prefix>sinkhole:hits) for new hits, until Ctrl-C or N events. With --json,\n"
    "one JSON object a line (\"event\": \"block\", \"unblock\" or \"hit\"). Reconnects when\n"
    "Redis goes away; hits are resumed where they stopped, events published while\n"
    "disconnected are missed.",
    {{"--count", "N", "stop after N events"},
     {"--no-hits", "", "do not follow the sinkhole's stream"},
     kConfigOption,
     kJsonOption},
    run};

}  // namespace fluxguard::cli
