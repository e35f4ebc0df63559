#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace fgstore {

using fluxguard::RedisConnection;
using fluxguard::RedisError;

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fluxguard-store-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

ServerOptions ServerOptions::with_password(const std::string& password) {
    ServerOptions o;
    o.args = {"--requirepass", password};
    o.admin_password = password;
    return o;
}

ServerOptions ServerOptions::with_unix_socket() {
    ServerOptions o;
    o.unix_socket = true;
    return o;
}

ServerOptions ServerOptions::replica_of(std::uint16_t master_port) {
    ServerOptions o;
    o.args = {"--replicaof", "127.0.0.1", std::to_string(master_port)};
    return o;
}

ServerOptions ServerOptions::on_port(std::uint16_t port) {
    ServerOptions o;
    o.port = port;
    return o;
}

RedisServer::RedisServer(ServerOptions options) : RedisServer(std::move(options), false, {}) {}

RedisServer::RedisServer(ServerOptions options, bool sentinel, std::string config_text)
    : options_(std::move(options)),
      port_(options_.port != 0 ? options_.port : free_port()),
      sentinel_(sentinel),
      config_text_(std::move(config_text)) {
    start();
}

RedisServer::~RedisServer() {
    for (auto& t : detached_)
        if (t.joinable()) t.join();
    admin_.reset();
    kill();
}

void RedisServer::spawn() {
    std::vector<std::string> args{"redis-server"};
    if (sentinel_) {
        const std::string conf = dir_.path() + "/sentinel.conf";
        std::ofstream(conf) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.path() << "\n"
                            << config_text_;
        args.push_back(conf);
        args.push_back("--sentinel");
    } else {
        args.insert(args.end(),
                    {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_.path(),
                     "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
                     // replicas (sentinel test) sync at once, not after 5 s
                     "--repl-diskless-sync-delay", "0"});
        if (options_.unix_socket)
            args.insert(args.end(), {"--unixsocket", socket_path(), "--unixsocketperm", "700"});
    }
    args.insert(args.end(), {"--daemonize", "no", "--logfile", dir_.path() + "/redis.log"});
    args.insert(args.end(), options_.args.begin(), options_.args.end());

    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string out = dir_.path() + "/stdout.log";
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, "redis-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start redis-server");
    pid_ = pid;
}

void RedisServer::wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            std::ifstream log(dir_.path() + "/redis.log");
            std::stringstream text;
            text << log.rdbuf();
            throw std::runtime_error("redis-server exited at start:\n" + text.str());
        }
        RedisError e;
        auto conn = RedisConnection::open(
            {endpoint(), options_.admin_user, options_.admin_password, 0, 200ms, 1000ms, {}}, e);
        if (conn) {
            auto r = conn->command({"PING"});
            if (r && r->type == REDIS_REPLY_STATUS) return;
        }
        std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("redis-server did not answer PING within 10 s");
}

void RedisServer::start() {
    if (pid_ > 0) return;
    spawn();
    wait_ready();
}

void RedisServer::kill() {
    admin_.reset();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

fluxguard::RedisReplyPtr RedisServer::command(const std::vector<std::string>& argv) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!admin_ || admin_->dead()) {
            admin_.reset();
            RedisError e;
            admin_ = RedisConnection::open(
                {endpoint(), options_.admin_user, options_.admin_password, 0, 500ms, 5000ms, {}},
                e);
            if (!admin_) throw std::runtime_error("harness: cannot reach redis: " + e.message);
        }
        auto reply = admin_->command(argv);
        if (reply) return reply;
        admin_.reset();
    }
    throw std::runtime_error("harness: redis command failed");
}

void RedisServer::command_detached(std::vector<std::string> argv) {
    const auto ep = endpoint();
    const auto user = options_.admin_user;
    const auto password = options_.admin_password;
    detached_.emplace_back([ep, user, password, argv = std::move(argv)] {
        RedisError e;
        auto conn = RedisConnection::open({ep, user, password, 0, 500ms, 30000ms, {}}, e);
        if (conn) conn->command(argv);
    });
    // Let the command reach the server before the test goes on.
    std::this_thread::sleep_for(50ms);
}

std::vector<std::string> RedisServer::keys(const std::string& pattern) {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
        auto r = command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            throw std::runtime_error("harness: bad SCAN reply");
        cursor.assign(r->element[0]->str, r->element[0]->len);
        const auto* list = r->element[1];
        for (std::size_t i = 0; i < list->elements; ++i)
            out.emplace_back(list->element[i]->str, list->element[i]->len);
    } while (cursor != "0");
    return out;
}

RedisSentinel::RedisSentinel(const std::string& master_name, std::uint16_t master_port)
    : RedisServer({}, true,
                  "sentinel monitor " + master_name + " 127.0.0.1 " + std::to_string(master_port) +
                      " 1\n"
                      "sentinel down-after-milliseconds " +
                      master_name +
                      " 1000\n"
                      "sentinel failover-timeout " +
                      master_name +
                      " 4000\n"
                      "sentinel parallel-syncs " +
                      master_name + " 1\n") {}

fluxguard::StoreLogSink CaptureLog::sink() {
    return [this](int level, std::string_view message) {
        std::lock_guard lock(mutex_);
        lines_.push_back(std::to_string(level) + " " + std::string(message));
    };
}

std::vector<std::string> CaptureLog::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

bool CaptureLog::contains(std::string_view needle) const { return count(needle) > 0; }

std::size_t CaptureLog::count(std::string_view needle) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& l : lines_)
        if (l.find(needle) != std::string::npos) ++n;
    return n;
}

fluxguard::FleetStore::Callbacks Recorder::callbacks() {
    fluxguard::FleetStore::Callbacks c;
    c.on_view = [this](const fluxguard::FleetView& v) {
        std::lock_guard lock(mutex_);
        views_[v.domain] = v;
        ++view_count_;
    };
    c.on_block = [this](const fluxguard::FleetBlock& b) {
        std::lock_guard lock(mutex_);
        last_block_[b.domain] = b;
        ++blocks_[b.domain];
        blocked_[b.domain] = true;
    };
    c.on_unblock = [this](const std::string& d) {
        std::lock_guard lock(mutex_);
        ++unblocks_[d];
        blocked_[d] = false;
    };
    return c;
}

std::optional<fluxguard::FleetView> Recorder::view(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = views_.find(domain);
    if (it == views_.end()) return std::nullopt;
    return it->second;
}

std::size_t Recorder::views() const {
    std::lock_guard lock(mutex_);
    return view_count_;
}

std::optional<fluxguard::FleetBlock> Recorder::block(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = last_block_.find(domain);
    if (it == last_block_.end()) return std::nullopt;
    return it->second;
}

std::size_t Recorder::blocks_of(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = blocks_.find(domain);
    return it == blocks_.end() ? 0 : it->second;
}

std::size_t Recorder::unblocks_of(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = unblocks_.find(domain);
    return it == unblocks_.end() ? 0 : it->second;
}

bool Recorder::blocked(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = blocked_.find(domain);
    return it != blocked_.end() && it->second;
}

fluxguard::RedisOptions fast_options(const fluxguard::RedisEndpoint& endpoint) {
    fluxguard::RedisOptions o;
    o.address = endpoint;
    o.connect_timeout = 200ms;
    o.command_timeout = 250ms;
    o.resync_interval = 500ms;
    o.reconnect_backoff_initial = 20ms;
    o.reconnect_backoff_max = 300ms;
    o.batch_size = 64;
    return o;
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

fluxguard::IpAddress ip(std::string_view text) {
    auto a = fluxguard::IpAddress::parse(text);
    if (!a) throw std::invalid_argument("bad address " + std::string(text));
    return *a;
}

fluxguard::FleetUpdate update(const std::string& domain, const std::vector<std::string>& addresses,
                              std::vector<std::string> name_servers, std::uint32_t min_ttl) {
    static const char* countries[] = {"RU", "UA", "BR", "IN", "CN", "TR", "VN", "RO", "US", "DE"};
    static const char* continents[] = {"EU", "EU", "SA", "AS", "AS", "AS", "AS", "EU", "NA", "EU"};
    fluxguard::FleetUpdate u;
    u.domain = domain;
    u.time = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    u.min_ttl = min_ttl;
    for (const auto& a : addresses) {
        fluxguard::Sighting s;
        s.address = ip(a);
        const auto b = s.address.bytes();
        const int net = b.size() == 4 ? b[2] : b[5];
        s.asn = 64600u + static_cast<std::uint32_t>(net);
        s.country = {countries[net % 10][0], countries[net % 10][1]};
        s.continent = {continents[net % 10][0], continents[net % 10][1]};
        u.addresses.push_back(s);
    }
    u.name_servers = std::move(name_servers);
    return u;
}

std::vector<std::string> flux_addresses(int net, int first, int count) {
    std::vector<std::string> out;
    for (int h = first; h < first + count; ++h)
        out.push_back("198.18." + std::to_string(net) + "." + std::to_string(h));
    return out;
}

SubmitProbe::SubmitProbe(fluxguard::FleetStore& store, std::string domain,
                         std::chrono::microseconds period)
    : store_(store) {
    thread_ = std::thread([this, domain = std::move(domain), period] {
        auto raise = [](std::atomic<std::int64_t>& max, std::int64_t v) {
            std::int64_t prev = max.load();
            while (v > prev && !max.compare_exchange_weak(prev, v)) {
            }
        };
        int i = 0;
        while (!stop_.load()) {
            auto u = update(domain, {"198.18.200." + std::to_string(1 + i++ % 200)});
            rusage before{}, after{};
            getrusage(RUSAGE_THREAD, &before);
            const auto t0 = std::chrono::steady_clock::now();
            const bool ok = store_.submit(std::move(u));
            const auto t1 = std::chrono::steady_clock::now();
            getrusage(RUSAGE_THREAD, &after);
            const auto took =
                std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
            const bool preempted =
                after.ru_nivcsw > before.ru_nivcsw && after.ru_nvcsw == before.ru_nvcsw;
            calls_.fetch_add(1);
            if (ok) accepted_.fetch_add(1);
            raise(raw_max_us_, took);
            if (preempted)
                preempted_.fetch_add(1);
            else
                raise(max_us_, took);
            std::this_thread::sleep_for(period);
        }
    });
}

SubmitProbe::~SubmitProbe() { stop(); }

void SubmitProbe::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

}  // namespace fgstore
