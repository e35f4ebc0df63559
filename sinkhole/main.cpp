// fluxguard-sinkhole: start-up in the order the security model needs
// (configuration, descriptors, records file and sockets while privileged,
// then drop privileges, then start threads and serve), and a shutdown that
// loses nothing already recorded: SIGTERM/SIGINT stop accepting, record
// every open connection, write every queued record, exit 0.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <asio.hpp>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "file_sink.h"
#include "log.h"
#include "privileges.h"
#include "redis_sink.h"
#include "server.h"
#include "sinkhole_config.h"

namespace {

using namespace fluxguard::sinkhole;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  // bad configuration, a port it cannot bind, ...
constexpr int exit_usage = 2;

// Descriptors needed besides connections: listeners, records file, Redis,
// epoll, signal pipe, stdio, with room to spare.
constexpr std::size_t reserved_descriptors = 64;
// How long a stop may wait for Redis to take the last records.
constexpr std::chrono::seconds redis_flush_time{5};

void usage(std::FILE* out) {
    std::fputs(
        "usage: fluxguard-sinkhole --config FILE [--check]\n"
        "       fluxguard-sinkhole --help | --version\n\n"
        "  --config FILE  the sinkhole's configuration (key: value lines)\n"
        "  --check        validate the configuration and exit\n\n"
        "settings (key: default  # meaning):\n",
        out);
    std::fputs(describe_settings().c_str(), out);
}

// Raises the soft descriptor limit to what max-connections needs (and, as
// root, the hard limit); returns how many connections fit.
std::size_t fit_descriptors(std::size_t max_connections, std::size_t sockets, Log& log) {
    const auto needed = static_cast<rlim_t>(max_connections + sockets + reserved_descriptors);
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < needed) {
        rlimit want = rl;
        if (want.rlim_max < needed && geteuid() == 0) want.rlim_max = needed;
        want.rlim_cur = std::min(needed, want.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            want.rlim_max = rl.rlim_max;
            want.rlim_cur = std::min(needed, rl.rlim_max);
            setrlimit(RLIMIT_NOFILE, &want);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    const auto available =
        rl.rlim_cur > sockets + reserved_descriptors
            ? static_cast<std::size_t>(rl.rlim_cur) - sockets - reserved_descriptors
            : std::size_t{1};
    if (available >= max_connections) return max_connections;
    log.warning(
        fmt::format("max-connections {} needs {} descriptors, the limit is {}: holding at "
                    "most {} connections",
                    max_connections, needed, rl.rlim_cur, available));
    return available;
}

int run(const SinkholeConfig& config, Log& log) {
    std::optional<Account> account;
    if (!config.user.empty()) account = lookup_account(config.user);
    if (!account && geteuid() == 0)
        throw PrivilegeError(fmt::format(
            "{}: running as root needs key 'user' (e.g. 'user: nobody'); or start it unprivileged "
            "with only CAP_NET_BIND_SERVICE",
            config.path));

    asio::io_context io(1);
    FileSink file(config.records_file, config.record_encoding, config.queue_size, log);
    std::optional<RedisSink> redis;
    std::vector<RecordSink*> sinks{&file};
    if (config.redis.enabled) {
        redis.emplace(config.redis, config.record_encoding, config.queue_size, log);
        sinks.push_back(&*redis);
    }
    Recorder recorder(sinks, config.max_records_per_second, log);
    Server server(io, config, recorder, log);
    server.set_max_connections(fit_descriptors(
        config.max_connections,
        config.listen.size() * (config.tcp_ports.size() + config.udp_ports.size()), log));
    server.bind();
    drop_privileges(account);

    // Threads only now: capabilities are per thread.
    for (auto* sink : sinks) sink->start();
    server.start();

    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    asio::signal_set reopen_signal(io, SIGHUP);
    std::function<void()> wait_reopen = [&] {
        reopen_signal.async_wait([&](const asio::error_code& ec, int) {
            if (ec) return;
            file.reopen();
            wait_reopen();
        });
    };
    wait_reopen();
    stop_signals.async_wait([&](const asio::error_code& ec, int signal) {
        if (ec) return;
        log.info(fmt::format("{}: stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT"));
        server.stop();
        reopen_signal.cancel();
    });

    log.info(fmt::format("listening on {}; records to '{}'{}; {}; ready",
                         server.describe_listeners(), escape_bytes(config.records_file),
                         config.redis.enabled ? " and Redis" : "", describe_privileges()));
    int status = exit_ok;
    try {
        io.run();
    } catch (const std::exception& e) {
        // Nothing in the handlers should throw; if something does, still
        // write what was recorded before going.
        log.error(fmt::format("network loop: {}", e.what()));
        status = exit_failure;
    }

    const auto deadline = std::chrono::steady_clock::now() + redis_flush_time;
    for (auto* sink : sinks) sink->stop(deadline);

    const auto& s = server.stats();
    std::string sinks_text;
    for (auto* sink : sinks) {
        const auto st = sink->stats();
        sinks_text += fmt::format("; {}: {} written, {} dropped, {} errors", sink->name(),
                                  st.written, st.dropped, st.errors);
    }
    log.info(
        fmt::format("stopped: {} connections (peak {} open, {} evicted), {} datagrams, {} "
                    "records, {} suppressed{}",
                    s.connections, s.peak_open, s.evicted, s.datagrams, recorder.recorded(),
                    recorder.suppressed(), sinks_text));
    return status;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::signal(SIGPIPE, SIG_IGN);
    std::string config_path;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg.starts_with("--config=")) {
            config_path = std::string(arg.substr(9));
        } else if (arg == "--check") {
            check_only = true;
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return exit_ok;
        } else if (arg == "--version") {
            std::puts("fluxguard-sinkhole " FLUXGUARD_VERSION);
            return exit_ok;
        } else {
            std::fprintf(stderr, "fluxguard-sinkhole: unexpected argument '%s'\n",
                         escape_bytes(arg).c_str());
            usage(stderr);
            return exit_usage;
        }
    }
    if (config_path.empty()) {
        usage(stderr);
        return exit_usage;
    }

    Log log;
    try {
        const auto config = load_config(config_path);
        if (check_only) {
            log.info(fmt::format("{}: configuration OK", escape_bytes(config_path)));
            return exit_ok;
        }
        return run(config, log);
    } catch (const ConfigError& e) {
        log.error(e.what());
    } catch (const BindError& e) {
        log.error(e.what());
    } catch (const PrivilegeError& e) {
        log.error(e.what());
    } catch (const std::system_error& e) {
        log.error(e.what());
    } catch (const std::exception& e) {
        log.error(fmt::format("start-up: {}", e.what()));
    }
    return exit_failure;
}
