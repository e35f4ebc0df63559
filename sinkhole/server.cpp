#include "server.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace fluxguard::sinkhole {

using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

// ---- Recorder ---------------------------------------------------------------

Recorder::Recorder(std::vector<RecordSink*> sinks, std::uint32_t max_per_second, Log& log)
    : sinks_(std::move(sinks)),
      rate_(max_per_second),
      tokens_(max_per_second),
      refilled_(Clock::now()),
      log_(log) {}

void Recorder::record(HitRecord&& record) {
    // Records of connections cut by a shutdown are never held back: they are
    // few (at most max-connections) and are what a stop must not lose.
    if (rate_ > 0 && record.ending != Ending::shutdown) {
        const auto now = Clock::now();
        const std::chrono::duration<double> elapsed = now - refilled_;
        refilled_ = now;
        tokens_ = std::min(rate_, tokens_ + elapsed.count() * rate_);  // burst: one second's worth
        if (tokens_ < 1.0) {
            ++suppressed_;
            log_.limited("records-suppressed", Level::warning,
                         fmt::format("more than {} records a second: records not written "
                                     "(max-records-per-second)",
                                     rate_));
            return;
        }
        tokens_ -= 1.0;
    }
    const auto shared = std::make_shared<const HitRecord>(std::move(record));
    for (auto* sink : sinks_) sink->submit(shared);
    ++recorded_;
}

// ---- helpers ------------------------------------------------------------------

namespace {

constexpr std::chrono::seconds linger_time{2};  // answer written + drain, at most
constexpr std::size_t max_drain = 65536;        // bytes discarded while lingering
constexpr std::size_t datagrams_per_wakeup = 64;
constexpr std::size_t max_backlog_at_shutdown = 4096;

Endpoint to_endpoint(const asio::ip::address& a, std::uint16_t port) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return {asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string(), port};
    return {a.to_string(), port};
}

// "192.0.2.1:80", "[2001:db8::1]:80"
std::string endpoint_text(std::string_view address, std::uint16_t port) {
    if (address.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", address, port);
    return fmt::format("{}:{}", address, port);
}

std::string endpoint_text(const Endpoint& e) { return endpoint_text(e.address, e.port); }

std::string html_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// The domain is client-controlled: escape_bytes() (no control bytes, no
// quotes) then HTML-escaped, so it can neither break the head nor the page.
std::string block_page(const std::string& domain, bool head_only) {
    const auto name = domain.empty()
                          ? std::string("This domain")
                          : "The domain <b>" + html_escape(escape_bytes(domain)) + "</b>";
    const auto body = fmt::format(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Blocked: fast flux</title>"
        "</head>\n<body><h1>Blocked</h1>\n<p>{} was blocked as <b>fast flux</b>: its addresses "
        "rotate through many networks, the way botnets hide their servers.</p>\n<p>If nobody "
        "on this device asked for it, the device may be infected.</p>\n<p>fluxguard</p></body>"
        "</html>\n",
        name);
    auto response = fmt::format(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
        "{}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.size());
    if (!head_only) response += body;
    return response;
}

// A fatal handshake_failure alert (RFC 8446 6): the client learns the
// handshake is over instead of waiting for a ServerHello.
const std::string tls_alert("\x15\x03\x03\x00\x02\x02\x28", 7);

bool would_block(const asio::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

// ---- Connection -------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
  public:
    using Registry = std::list<std::shared_ptr<Connection>>;

    Connection(Server& server, tcp::socket socket, Endpoint client, Endpoint local)
        : server_(server),
          socket_(std::move(socket)),
          timer_(server.io_),
          client_(std::move(client)),
          local_(std::move(local)),
          started_wall_(std::chrono::system_clock::now()),
          started_(Clock::now()),
          last_activity_(started_),
          deadline_(started_ + server.config_.max_connection_time) {}

    void start(Registry::iterator self) {
        self_ = self;
        registered_ = true;
        arm_timer(std::min(deadline_, last_activity_ + server_.config_.idle_timeout));
        wait_readable();
    }

    // Records (once) and closes at once.
    void finish(Ending ending) {
        if (phase_ == Phase::closed) return;
        record(ending, false);
        close();
    }

    // The server is stopping: whatever the client sent and we have not read
    // yet goes into the record too.
    void finish_for_shutdown() {
        if (phase_ == Phase::reading) read_available();
        finish(Ending::shutdown);
    }

  private:
    enum class Phase { reading, answering, draining, closed };
    enum class ReadEnd { open, eof, error };

    void wait_readable() {
        socket_.async_wait(
            tcp::socket::wait_read,
            [self = shared_from_this()](const asio::error_code& ec) { self->on_readable(ec); });
    }

    // Reads what is there, non-blocking, into the server's scratch buffer and
    // from there into buffer_ (never beyond max-sniff-bytes).
    ReadEnd read_available() {
        auto& scratch = server_.scratch_;
        const auto max = server_.config_.max_sniff_bytes;
        while (buffer_.size() < max) {
            asio::error_code ec;
            const auto room = std::min(max - buffer_.size(), scratch.size());
            const auto n = socket_.read_some(asio::buffer(scratch.data(), room), ec);
            if (would_block(ec)) return ReadEnd::open;
            if (ec == asio::error::eof) return ReadEnd::eof;
            if (ec) return ec == asio::error::connection_reset ? ReadEnd::eof : ReadEnd::error;
            const auto chunk = std::string_view(reinterpret_cast<const char*>(scratch.data()), n);
            if (buffer_.empty() || buffer_[0] == '\x16' ||
                chunk.find('\n') != std::string_view::npos)
                sniff_due_ = true;
            buffer_.append(chunk);
            stale_ = true;
            last_activity_ = Clock::now();
            if (n < room) return ReadEnd::open;
        }
        return ReadEnd::open;
    }

    void on_readable(const asio::error_code& ec) {
        if (phase_ == Phase::closed || ec == asio::error::operation_aborted) return;
        if (phase_ == Phase::draining) return drain(ec);
        if (ec) return finish(Ending::error);
        const auto end = read_available();
        examine(end);
    }

    // Re-sniffs only when the answer can have changed: TLS bytes, a new line
    // (HTTP and SSH need one), the first bytes, or the end of reading. An
    // opaque stream stays opaque. This keeps a client that trickles bytes
    // from costing O(n^2) parsing.
    void sniff_if_due(bool force) {
        if (!stale_) return;
        if (!force && (!sniff_due_ || sniffed_.state == SniffState::opaque)) return;
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer_.data());
        sniffed_ = sniff(Bytes(bytes, buffer_.size()));
        stale_ = false;
        sniff_due_ = false;
    }

    void examine(ReadEnd end) {
        const bool full = buffer_.size() >= server_.config_.max_sniff_bytes;
        sniff_if_due(full || end != ReadEnd::open);
        if (sniffed_.state == SniffState::complete) {
            switch (sniffed_.protocol) {
                case Protocol::http:
                    return answer(block_for_http(), Ending::complete);
                case Protocol::tls:
                    return answer(tls_alert, Ending::complete);
                case Protocol::ssh:
                case Protocol::unknown:
                case Protocol::none:
                    return finish(Ending::complete);
            }
        }
        if (sniffed_.state == SniffState::malformed) return finish(Ending::malformed);
        if (end == ReadEnd::eof) return finish(Ending::peer_closed);
        if (end == ReadEnd::error) return finish(Ending::error);
        if (full) {
            // Oversized HTTP heads still get their block page.
            if (sniffed_.protocol == Protocol::http) return answer(block_for_http(), Ending::limit);
            return finish(Ending::limit);
        }
        wait_readable();
    }

    std::string block_for_http() const {
        return block_page(request_domain(sniffed_.http), sniffed_.http.method == "HEAD");
    }

    void answer(const std::string& response, Ending ending) {
        record(ending, true);
        phase_ = Phase::answering;
        response_ = response;
        arm_timer(Clock::now() + linger_time);
        asio::async_write(socket_, asio::buffer(response_),
                          [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                              self->on_written(ec);
                          });
    }

    void on_written(const asio::error_code& ec) {
        if (phase_ == Phase::closed) return;
        if (ec) return close();
        // Lingering close: stop sending, discard what the client still sends
        // (a bounded amount, for a bounded time), then close. Closing with
        // unread data would reset the connection and could destroy the answer.
        asio::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        phase_ = Phase::draining;
        wait_readable();
    }

    void drain(const asio::error_code& ec) {
        if (ec) return close();
        auto& scratch = server_.scratch_;
        for (;;) {
            asio::error_code read_ec;
            const auto n = socket_.read_some(asio::buffer(scratch), read_ec);
            if (would_block(read_ec)) break;
            if (read_ec || n == 0) return close();
            drained_ += n;
            if (drained_ > max_drain) return close();
        }
        wait_readable();
    }

    // One timer per connection with at most one wait outstanding; a wait
    // whose generation is stale is ignored (it was superseded).
    void arm_timer(Clock::time_point at) {
        timer_.expires_at(at);
        const auto generation = ++timer_generation_;
        timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
            self->on_timer(ec, generation);
        });
    }

    void on_timer(const asio::error_code& ec, std::uint64_t generation) {
        if (phase_ == Phase::closed || ec == asio::error::operation_aborted ||
            generation != timer_generation_)
            return;
        const auto now = Clock::now();
        if (phase_ != Phase::reading) return close();  // lingering is over
        const auto idle_at = last_activity_ + server_.config_.idle_timeout;
        if (now >= deadline_) return finish(Ending::deadline);
        if (now >= idle_at) return finish(Ending::idle);
        arm_timer(std::min(deadline_, idle_at));
    }

    void record(Ending ending, bool answered) {
        if (recorded_) return;
        recorded_ = true;
        sniff_if_due(true);
        HitRecord r;
        r.time = started_wall_;
        r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
        r.transport = Transport::tcp;
        r.client = client_;
        r.local = local_;
        r.sniffed = std::move(sniffed_);
        r.bytes = buffer_.size();
        r.first_bytes = buffer_.substr(0, server_.config_.record_bytes);
        r.ending = ending;
        r.answered = answered;
        derive_domain(r);
        // What is still needed after recording: the request's domain for the
        // block page was taken before; the rest of the buffer is not.
        sniffed_ = SniffResult{};
        sniffed_.state = r.sniffed.state;
        sniffed_.protocol = r.sniffed.protocol;
        buffer_ = std::string();
        server_.recorder_.record(std::move(r));
    }

    void close() {
        if (phase_ == Phase::closed) return;
        phase_ = Phase::closed;
        asio::error_code ignored;
        socket_.close(ignored);
        timer_.cancel();
        if (registered_) {
            registered_ = false;
            server_.forget(self_);  // may drop the last owner but one: the handlers hold us
        }
    }

    Server& server_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    const Endpoint client_;
    const Endpoint local_;
    const std::chrono::system_clock::time_point started_wall_;
    const Clock::time_point started_;
    Clock::time_point last_activity_;
    const Clock::time_point deadline_;
    std::string buffer_;  // bytes read, at most max-sniff-bytes
    SniffResult sniffed_;
    bool stale_ = false;      // buffer_ changed since sniffed_
    bool sniff_due_ = false;  // ... in a way that can change the answer
    std::string response_;
    Phase phase_ = Phase::reading;
    bool recorded_ = false;
    std::size_t drained_ = 0;
    std::uint64_t timer_generation_ = 0;
    Registry::iterator self_;
    bool registered_ = false;
};

// ---- Server -----------------------------------------------------------------

struct Server::TcpListener {
    explicit TcpListener(asio::io_context& io) : acceptor(io), retry(io) {}
    tcp::acceptor acceptor;
    asio::steady_timer retry;  // after EMFILE and friends
    Endpoint local;
};

struct Server::UdpListener {
    explicit UdpListener(asio::io_context& io) : socket(io) {}
    udp::socket socket;
    Endpoint local;
};

Server::Server(asio::io_context& io, const SinkholeConfig& config, Recorder& recorder, Log& log)
    : io_(io),
      config_(config),
      recorder_(recorder),
      log_(log),
      max_connections_(config.max_connections),
      scratch_(std::max<std::size_t>(65536, config.max_sniff_bytes)) {}

Server::~Server() = default;

namespace {

// Throws BindError when `ec` is set: transport, address, port, step, OS error.
void check_bind(const asio::error_code& ec, std::string_view transport, const asio::ip::address& a,
                std::uint16_t port, std::string_view step) {
    if (!ec) return;
    auto message =
        fmt::format("cannot listen on {} {}: {}{}", transport, endpoint_text(a.to_string(), port),
                    step.empty() ? "" : fmt::format("{}: ", step), ec.message());
    if (ec == asio::error::access_denied && port < 1024)
        message += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    throw BindError(message);
}

}  // namespace

void Server::bind() {
    for (const auto& listen : config_.listen) {
        const auto address = asio::ip::make_address(listen.text);
        for (const auto port : config_.tcp_ports) {
            auto l = std::make_unique<TcpListener>(io_);
            const tcp::endpoint ep(address, port);
            asio::error_code ec;
            const auto check = [&](std::string_view step) {
                check_bind(ec, "tcp", address, port, step);
            };
            l->acceptor.open(ep.protocol(), ec);
            check("socket");
            if (address.is_v6()) l->acceptor.set_option(asio::ip::v6_only(true), ec);
            check("IPV6_V6ONLY");
            l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
            check("SO_REUSEADDR");
            l->acceptor.bind(ep, ec);
            check("");
            l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
            check("listen");
            l->acceptor.non_blocking(true, ec);
            check("non-blocking");
            l->local = to_endpoint(address, port);
            tcp_.push_back(std::move(l));
        }
        for (const auto port : config_.udp_ports) {
            auto l = std::make_unique<UdpListener>(io_);
            const udp::endpoint ep(address, port);
            asio::error_code ec;
            const auto check = [&](std::string_view step) {
                check_bind(ec, "udp", address, port, step);
            };
            l->socket.open(ep.protocol(), ec);
            check("socket");
            if (address.is_v6()) l->socket.set_option(asio::ip::v6_only(true), ec);
            check("IPV6_V6ONLY");
            l->socket.bind(ep, ec);
            check("");
            l->socket.non_blocking(true, ec);
            check("non-blocking");
            l->local = to_endpoint(address, port);
            udp_.push_back(std::move(l));
        }
    }
}

std::string Server::describe_listeners() const {
    std::string out;
    const auto add = [&](std::string_view transport, const Endpoint& e) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", transport, endpoint_text(e));
    };
    for (const auto& l : tcp_) add("tcp", l->local);
    for (const auto& l : udp_) add("udp", l->local);
    return out;
}

void Server::start() {
    for (auto& l : tcp_) accept(*l);
    for (auto& l : udp_) receive(*l);
}

void Server::accept(TcpListener& listener) {
    listener.acceptor.async_accept(
        [this, &listener](const asio::error_code& ec, tcp::socket socket) {
            if (stopping_ || ec == asio::error::operation_aborted) return;
            if (!ec) {
                on_accept(listener, std::move(socket));
                return accept(listener);
            }
            ++stats_.accept_errors;
            if (ec == asio::error::connection_aborted) return accept(listener);
            // Out of descriptors or memory: pause this listener briefly rather
            // than spin; the kernel keeps the backlog meanwhile.
            log_.limited(
                "accept", Level::warning,
                fmt::format("accept on tcp {}: {}", endpoint_text(listener.local), ec.message()));
            listener.retry.expires_after(std::chrono::milliseconds(100));
            listener.retry.async_wait([this, &listener](const asio::error_code& wait_ec) {
                if (!wait_ec && !stopping_) accept(listener);
            });
        });
}

void Server::on_accept(TcpListener&, tcp::socket socket) {
    ++stats_.connections;
    asio::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // gone already; nothing to record
    const auto local = socket.local_endpoint(ec);
    if (ec) return;
    socket.non_blocking(true, ec);
    if (ec) return;
    while (!connections_.empty() && connections_.size() >= max_connections_) {
        ++stats_.evicted;
        const auto victim = connections_.front();  // finish() erases the list's copy
        victim->finish(Ending::evicted);
    }
    auto c = std::make_shared<Connection>(*this, std::move(socket),
                                          to_endpoint(remote.address(), remote.port()),
                                          to_endpoint(local.address(), local.port()));
    connections_.push_back(c);
    c->start(std::prev(connections_.end()));
    stats_.open = connections_.size();
    stats_.peak_open = std::max(stats_.peak_open, stats_.open);
}

void Server::forget(std::list<std::shared_ptr<Connection>>::iterator it) {
    connections_.erase(it);
    stats_.open = connections_.size();
}

void Server::receive(UdpListener& listener) {
    listener.socket.async_wait(udp::socket::wait_read,
                               [this, &listener](const asio::error_code& ec) {
                                   if (stopping_ || ec == asio::error::operation_aborted) return;
                                   on_datagrams(listener, datagrams_per_wakeup);
                                   receive(listener);
                               });
}

void Server::on_datagrams(UdpListener& listener, std::size_t max) {
    for (std::size_t i = 0; i < max; ++i) {
        udp::endpoint sender;
        asio::error_code ec;
        const auto n = listener.socket.receive_from(asio::buffer(scratch_), sender, 0, ec);
        if (would_block(ec)) return;
        if (ec) continue;  // e.g. an ICMP error reported on the socket: try the next
        ++stats_.datagrams;
        const auto sniffed_size = std::min(n, config_.max_sniff_bytes);
        HitRecord r;
        r.time = std::chrono::system_clock::now();
        r.transport = Transport::udp;
        r.client = to_endpoint(sender.address(), sender.port());
        r.local = listener.local;
        r.sniffed = sniff(Bytes(scratch_.data(), sniffed_size));
        r.bytes = n;
        r.first_bytes.assign(reinterpret_cast<const char*>(scratch_.data()),
                             std::min(n, config_.record_bytes));
        r.ending = Ending::datagram;
        derive_domain(r);
        recorder_.record(std::move(r));
    }
}

void Server::stop() {
    if (stopping_) return;
    stopping_ = true;
    asio::error_code ignored;
    // Connections the kernel completed but we had not accepted yet, and
    // datagrams already received, are recorded too: a client that got its
    // SYN-ACK or whose datagram was delivered has been seen.
    for (auto& l : tcp_) {
        l->retry.cancel();
        for (std::size_t i = 0; i < max_backlog_at_shutdown; ++i) {
            asio::error_code ec;
            tcp::socket socket(io_);
            l->acceptor.accept(socket, ec);
            if (ec) break;
            on_accept(*l, std::move(socket));
        }
        l->acceptor.close(ignored);
    }
    for (auto& l : udp_) {
        on_datagrams(*l, max_backlog_at_shutdown);
        l->socket.close(ignored);
    }
    const auto open =
        std::vector<std::shared_ptr<Connection>>(connections_.begin(), connections_.end());
    for (const auto& c : open) c->finish_for_shutdown();
}

}  // namespace fluxguard::sinkhole
