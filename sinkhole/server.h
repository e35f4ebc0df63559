// The listening side of fluxguard-sinkhole: TCP and UDP sockets on every
// configured address and port, one Asio io_context, one thread.
//
// TCP: a connection is read (never more than max-sniff-bytes) until the
// sniffer (sniff.h) has a complete message, the bytes stop making sense, the
// client goes quiet for idle-timeout, max-connection-time passes (slowloris),
// the client closes, or max-sniff-bytes are in; then it is recorded, once.
// HTTP clients then get a short block page, TLS clients a fatal alert after
// their ClientHello, and the connection is closed after a bounded lingering
// drain (so the client sees the answer instead of a reset). Nothing a client
// sends is interpreted beyond the sniffer. A connection costs its socket, a
// timer and the bytes actually received: waiting for data uses
// async_wait(wait_read) and reads into one shared scratch buffer, so idle
// connections hold no read buffer. At max-connections the oldest connection
// is closed (and recorded) to make room: a flood of idle sockets can push
// out old connections but cannot lock new clients out.
//
// UDP: every datagram is recorded and never answered (no reflection, no
// amplification). Sources of UDP can be forged; records say transport "udp".
//
// Recording goes through a Recorder: a token bucket (max-records-per-second)
// in front of the sinks, so a flood costs a counter, not the disk.
//
// NOT thread-safe: everything runs on the io_context's one thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hit_record.h"
#include "log.h"
#include "record_sink.h"
#include "sinkhole_config.h"

namespace fluxguard::sinkhole {

// The server's way out to the sinks. Network thread only.
class Recorder {
  public:
    Recorder(std::vector<RecordSink*> sinks, std::uint32_t max_per_second, Log& log);
    void record(HitRecord&& record);
    std::uint64_t recorded() const { return recorded_; }
    std::uint64_t suppressed() const { return suppressed_; }

  private:
    std::vector<RecordSink*> sinks_;
    const double rate_;  // tokens per second; 0: unlimited
    double tokens_;
    std::chrono::steady_clock::time_point refilled_;
    Log& log_;
    std::uint64_t recorded_ = 0;
    std::uint64_t suppressed_ = 0;
};

// A socket that could not be opened or bound: what, where and why.
class BindError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ServerStats {
    std::uint64_t connections = 0;  // TCP connections accepted
    std::uint64_t datagrams = 0;
    std::uint64_t evicted = 0;  // closed to make room under max-connections
    std::uint64_t accept_errors = 0;
    std::size_t open = 0;  // TCP connections open now
    std::size_t peak_open = 0;
};

class Connection;

class Server {
  public:
    Server(asio::io_context& io, const SinkholeConfig& config, Recorder& recorder, Log& log);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens and binds every socket (IPv6 sockets are v6-only). Throws
    // BindError("cannot listen on tcp [::1]:80: Address already in use").
    void bind();
    // Starts accepting and receiving.
    void start();
    // Stops accepting and receiving, records and closes every open connection.
    // Returns at once; the io_context runs out of work shortly after.
    void stop();

    // "tcp 127.0.0.1:80, udp [::1]:53"
    std::string describe_listeners() const;
    const ServerStats& stats() const { return stats_; }
    // Connections the process can hold (max-connections, lowered to fit the
    // descriptor limit by the caller).
    void set_max_connections(std::size_t n) { max_connections_ = n; }

  private:
    friend class Connection;
    struct TcpListener;
    struct UdpListener;

    void accept(TcpListener& listener);
    void on_accept(TcpListener& listener, asio::ip::tcp::socket socket);
    void receive(UdpListener& listener);
    void on_datagrams(UdpListener& listener, std::size_t max);
    void forget(std::list<std::shared_ptr<Connection>>::iterator it);

    asio::io_context& io_;
    const SinkholeConfig& config_;
    Recorder& recorder_;
    Log& log_;
    std::size_t max_connections_;
    std::vector<std::unique_ptr<TcpListener>> tcp_;
    std::vector<std::unique_ptr<UdpListener>> udp_;
    std::list<std::shared_ptr<Connection>> connections_;  // oldest first
    std::vector<std::uint8_t> scratch_;  // one read buffer for every socket (one thread)
    ServerStats stats_;
    bool stopping_ = false;
};

}  // namespace fluxguard::sinkhole
