#include "metrics_server.h"

#include <pthread.h>
#include <signal.h>

#include <asio.hpp>
#include <atomic>
#include <charconv>
#include <stdexcept>
#include <thread>

namespace fluxguard::metrics {

namespace {

using asio::ip::tcp;

tcp::endpoint parse_address(std::string_view text, bool loopback_only) {
    std::string host;
    std::string_view port_text;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("metrics address '" + std::string(text) +
                                        "': expected [IPv6]:port");
        host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon)
            throw std::invalid_argument("metrics address '" + std::string(text) +
                                        "': expected IPv4:port or [IPv6]:port");
        host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
        port > 65535)
        throw std::invalid_argument("metrics address '" + std::string(text) + "': bad port");
    asio::error_code aec;
    const auto address = asio::ip::make_address(host, aec);
    if (aec)
        throw std::invalid_argument("metrics address '" + std::string(text) + "': '" + host +
                                    "' is not an IP address");
    if (loopback_only && !address.is_loopback())
        throw std::invalid_argument(
            "metrics address '" + std::string(text) +
            "': not a loopback address (the endpoint is for this machine only)");
    return {address, static_cast<unsigned short>(port)};
}

std::string response(int status, std::string_view reason, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    out += "Content-Type: " + std::string(content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra_headers;
    out += "Connection: close\r\n\r\n";
    out += body;
    return out;
}

std::string plain(int status, std::string_view reason, std::string_view extra_headers = {}) {
    return response(status, reason, "text/plain; charset=utf-8", std::string(reason) + "\n",
                    extra_headers);
}

}  // namespace

struct MetricsServer::Impl {
    const Registry& registry;
    MetricsServerOptions options;
    // Before io: pending connections are destroyed with io and count down.
    std::size_t active = 0;  // connections open; I/O thread only
    std::atomic<std::uint16_t> bound_port{0};
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;

    Impl(const Registry& r, MetricsServerOptions o) : registry(r), options(std::move(o)) {}

    void log(std::string_view line) {
        if (options.log) options.log(line);
    }

    // What one request head gets.
    std::string answer(std::string_view head) {
        const auto line_end = head.find("\r\n");
        const auto line = head.substr(0, line_end);
        const auto sp1 = line.find(' ');
        const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
        if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
            !line.substr(sp2 + 1).starts_with("HTTP/1."))
            return plain(400, "Bad Request");
        const auto method = line.substr(0, sp1);
        auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        target = target.substr(0, target.find('?'));
        if (target != "/metrics") return plain(404, "Not Found");
        if (method != "GET") return plain(405, "Method Not Allowed", "Allow: GET\r\n");
        return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", registry.expose());
    }

    struct Connection : std::enable_shared_from_this<Connection> {
        Impl& server;
        tcp::socket socket;
        asio::steady_timer deadline;
        std::string in;
        std::string out;

        Connection(Impl& s, tcp::socket sock)
            : server(s), socket(std::move(sock)), deadline(s.io) {}
        ~Connection() { --server.active; }

        void start() {
            deadline.expires_after(server.options.request_timeout);
            deadline.async_wait([self = shared_from_this()](const asio::error_code& ec) {
                if (!ec) {
                    asio::error_code ignored;
                    self->socket.close(ignored);  // too slow: a scrape is one small request
                }
            });
            asio::async_read_until(
                socket, asio::dynamic_buffer(in, server.options.max_request_bytes), "\r\n\r\n",
                [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                    self->on_head(ec, n);
                });
        }

        void on_head(const asio::error_code& ec, std::size_t n) {
            if (ec == asio::error::not_found) {
                send(plain(431, "Request Header Fields Too Large"));
                return;
            }
            if (ec) {
                finish();
                return;
            }
            send(server.answer(std::string_view(in).substr(0, n)));
        }

        void send(std::string text) {
            out = std::move(text);
            asio::async_write(socket, asio::buffer(out),
                              [self = shared_from_this()](const asio::error_code&, std::size_t) {
                                  self->finish();
                              });
        }

        void finish() {
            asio::error_code ignored;
            deadline.cancel();
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
        }
    };

    void accept() {
        acceptor.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                if (active >= options.max_connections) {
                    asio::error_code ignored;
                    socket.close(ignored);
                } else {
                    ++active;
                    std::make_shared<Connection>(*this, std::move(socket))->start();
                }
            } else {
                log("metrics: accept failed: " + ec.message());
            }
            accept();
        });
    }

    void run() {
        for (;;) {
            try {
                io.run();
                return;
            } catch (const std::exception& e) {
                log(std::string("metrics: ") + e.what());
            } catch (...) {
                log("metrics: unknown error");
            }
        }
    }
};

MetricsServer::MetricsServer(const Registry& registry, std::string_view address)
    : MetricsServer(registry, [&] {
          MetricsServerOptions o;
          o.address = std::string(address);
          return o;
      }()) {}

MetricsServer::MetricsServer(const Registry& registry, MetricsServerOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {
    if (impl_->options.max_request_bytes < 64)
        throw std::invalid_argument("metrics: max_request_bytes below 64");
    const auto endpoint = parse_address(impl_->options.address, impl_->options.loopback_only);
    try {
        impl_->acceptor.open(endpoint.protocol());
        impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
        impl_->acceptor.bind(endpoint);
        impl_->acceptor.listen();
    } catch (const std::system_error& e) {
        throw std::runtime_error("metrics address '" + impl_->options.address +
                                 "': " + e.code().message());
    }
    impl_->bound_port.store(impl_->acceptor.local_endpoint().port());
    impl_->accept();
    // The host's signals are for the host's threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    try {
        impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

MetricsServer::~MetricsServer() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t MetricsServer::port() const { return impl_->bound_port.load(); }

}  // namespace fluxguard::metrics
