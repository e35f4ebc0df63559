#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "exposition_parser.h"
#include "metrics_server.h"

using fluxguard::metrics::MetricsServer;
using fluxguard::metrics::MetricsServerOptions;
using fluxguard::metrics::Registry;

namespace {

// A plain client socket: what Prometheus does, without a library in between.
class Client {
  public:
    explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~Client() { ::close(fd_); }
    void send(const std::string& s) {
        std::size_t done = 0;
        while (done < s.size()) {
            const auto n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return;  // the server may close early (431)
            done += static_cast<std::size_t>(n);
        }
    }
    // Everything until the server closes (or `timeout` passes).
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
        std::string out;
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
    bool closed() const { return closed_; }

  private:
    int fd_;
    bool closed_ = false;
};

struct HttpResponse {
    int status = 0;
    std::string headers;
    std::string body;
};

HttpResponse parse_http(const std::string& raw) {
    HttpResponse r;
    const auto head_end = raw.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    REQUIRE(raw.starts_with("HTTP/1.1 "));
    r.status = std::stoi(raw.substr(9, 3));
    r.headers = raw.substr(0, head_end + 2);
    r.body = raw.substr(head_end + 4);
    const auto cl = r.headers.find("Content-Length: ");
    REQUIRE(cl != std::string::npos);
    REQUIRE(std::stoul(r.headers.substr(cl + 16)) == r.body.size());
    return r;
}

HttpResponse request(std::uint16_t port, const std::string& text) {
    Client c(port);
    c.send(text);
    auto raw = c.read_all();
    REQUIRE(c.closed());
    return parse_http(raw);
}

MetricsServerOptions on_free_port() {
    MetricsServerOptions o;
    o.address = "127.0.0.1:0";
    return o;
}

}  // namespace

TEST_CASE("GET /metrics over a real socket serves the registry in the text format",
          "[metrics][server]") {
    Registry r;
    auto& observed = r.counter("fluxguard_resolutions_observed_total", "Resolutions observed");
    r.counter("fluxguard_answers_rewritten_total", "Answers rewritten", {{"policy", "nxdomain"}})
        .inc(2);
    r.gauge_callback("fluxguard_domains", "Domains", [] { return 12.0; }, {{"state", "tracked"}});
    r.histogram("fluxguard_redis_latency_seconds", "Redis", Registry::latency_buckets())
        .observe(0.0003);
    observed.inc(7);
    MetricsServer server(r, on_free_port());
    REQUIRE(server.port() != 0);

    auto resp = request(server.port(),
                        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n");
    REQUIRE(resp.status == 200);
    REQUIRE(resp.headers.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    auto p = exposition::parse(resp.body);
    REQUIRE(p.samples.at("fluxguard_resolutions_observed_total") == 7);
    REQUIRE(p.samples.at("fluxguard_answers_rewritten_total{policy=\"nxdomain\"}") == 2);
    REQUIRE(p.samples.at("fluxguard_domains{state=\"tracked\"}") == 12);
    REQUIRE(p.samples.at("fluxguard_redis_latency_seconds_bucket{le=\"0.0005\"}") == 1);
    REQUIRE(p.type.at("fluxguard_redis_latency_seconds") == "histogram");

    // Live values: the next scrape sees the next count; query strings are fine.
    observed.inc();
    resp = request(server.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
    REQUIRE(exposition::parse(resp.body).samples.at("fluxguard_resolutions_observed_total") == 8);
}

TEST_CASE("anything but GET /metrics is refused", "[metrics][server]") {
    Registry r;
    r.counter("c_total", "x").inc();
    MetricsServer server(r, on_free_port());
    REQUIRE(request(server.port(), "GET / HTTP/1.1\r\n\r\n").status == 404);
    REQUIRE(request(server.port(), "GET /metrics/../etc HTTP/1.1\r\n\r\n").status == 404);
    auto post = request(server.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(post.status == 405);
    REQUIRE(post.headers.find("Allow: GET") != std::string::npos);
    REQUIRE(request(server.port(), "hello\r\n\r\n").status == 400);
    // Still serving after all that.
    REQUIRE(request(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").status == 200);
}

TEST_CASE("request heads are bounded in size and time", "[metrics][server]") {
    Registry r;
    auto o = on_free_port();
    o.max_request_bytes = 1024;
    o.request_timeout = std::chrono::milliseconds(300);
    MetricsServer server(r, o);
    {
        Client c(server.port());
        c.send("GET /metrics HTTP/1.1\r\nX-Long: " + std::string(4096, 'a') + "\r\n\r\n");
        const auto raw = c.read_all();
        REQUIRE(c.closed());
        REQUIRE(parse_http(raw).status == 431);
    }
    {
        // Half a request, then silence: closed after the timeout, no answer.
        Client c(server.port());
        c.send("GET /metr");
        const auto t0 = std::chrono::steady_clock::now();
        const auto raw = c.read_all(std::chrono::milliseconds(3000));
        REQUIRE(c.closed());
        REQUIRE(raw.empty());
        REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(2000));
    }
    REQUIRE(request(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").status == 200);
}

TEST_CASE("scrapes run while worker threads count", "[metrics][server]") {
    Registry r;
    auto& c = r.counter("fluxguard_resolutions_observed_total", "x");
    MetricsServer server(r, on_free_port());
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        while (!stop) c.inc();
    });
    double last = -1;
    for (int i = 0; i < 20; ++i) {
        auto p = exposition::parse(request(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").body);
        const double v = p.samples.at("fluxguard_resolutions_observed_total");
        REQUIRE(v >= last);
        last = v;
    }
    stop = true;
    worker.join();
}

TEST_CASE("addresses: loopback only, parsed strictly, bind errors named", "[metrics][server]") {
    Registry r;
    REQUIRE_THROWS_AS(MetricsServer(r, "0.0.0.0:9167"), std::invalid_argument);
    REQUIRE_THROWS_AS(MetricsServer(r, "192.0.2.1:9167"), std::invalid_argument);
    REQUIRE_THROWS_AS(MetricsServer(r, "localhost:9167"), std::invalid_argument);
    REQUIRE_THROWS_AS(MetricsServer(r, "127.0.0.1"), std::invalid_argument);
    REQUIRE_THROWS_AS(MetricsServer(r, "127.0.0.1:70000"), std::invalid_argument);
    REQUIRE_THROWS_AS(MetricsServer(r, "::1:9167"), std::invalid_argument);
    MetricsServer first(r, on_free_port());
    const auto taken = "127.0.0.1:" + std::to_string(first.port());
    try {
        MetricsServer second(r, taken);
        FAIL("a second server bound the same port");
    } catch (const std::runtime_error& e) {
        REQUIRE(std::string(e.what()).find(taken) != std::string::npos);
    }
    MetricsServer v6(r, "[::1]:0");  // IPv6 loopback, where the machine has it
    REQUIRE(v6.port() != 0);
}
