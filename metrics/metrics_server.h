// A Prometheus scrape endpoint: `GET /metrics` over HTTP/1.x on a loopback
// address, answered with Registry::expose(). Anything else gets 404 (another
// path), 405 (another method) or 400/431 (not HTTP, or a request head over
// the size limit); every connection is closed after one answer, and one that
// has not sent a whole request head within the timeout is closed too.
//
// One background thread (standalone Asio) does all of it, with every signal
// blocked so that the host process's (Unbound's) signals never land on it.
// Nothing here throws into the host after construction: errors on a
// connection close that connection.
//
// Thread-safety: construct and destroy from one thread; port() from any.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "registry.h"

namespace fluxguard::metrics {

struct MetricsServerOptions {
    // "127.0.0.1:9167", "[::1]:9167"; port 0 picks a free port (tests).
    std::string address = "127.0.0.1:9167";
    // A metrics endpoint tells how the resolver is doing; by default only the
    // machine itself may ask (a local Prometheus, or a proxy in front).
    bool loopback_only = true;
    std::size_t max_request_bytes = 8192;
    std::chrono::milliseconds request_timeout{5000};
    std::size_t max_connections = 32;
    // Optional: one line per problem on a connection (never per request).
    std::function<void(std::string_view)> log;
};

class MetricsServer {
  public:
    // Binds and starts serving. Throws std::invalid_argument for a bad or
    // (with loopback_only) non-loopback address, std::runtime_error naming
    // the address when it cannot be bound.
    MetricsServer(const Registry& registry, MetricsServerOptions options);
    MetricsServer(const Registry& registry, std::string_view address);
    // Stops the thread; open connections are closed.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // The bound port (useful with port 0).
    std::uint16_t port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fluxguard::metrics
