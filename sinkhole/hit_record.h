// One record per TCP connection or UDP datagram, and the two ways it is
// written: a JSON Lines object (the records file) and flat field/value pairs
// (the Redis stream). README.md, "Records", lists every field.
//
// Client-controlled bytes (HTTP fields, SNI, ALPN, SSH banner, domain) are
// kept raw in the struct and pass through escape_bytes() on the way out, in
// every writer and every log line: the output is printable ASCII without
// quotes or raw backslashes, so a Host header or an SNI can neither end a
// line, nor a JSON string, nor a log field, nor smuggle terminal controls or
// invalid UTF-8. escape_bytes() is injective: no two inputs look alike.
//
// A HitRecord is a plain value; once built it is shared read-only (as a
// shared_ptr<const HitRecord>) by the sinks' threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sinkhole_config.h"
#include "sniff.h"

namespace fluxguard::sinkhole {

enum class Transport { tcp, udp };
std::string_view to_string(Transport);

// Why the sinkhole stopped reading (and recorded).
enum class Ending {
    complete,     // a whole request head / ClientHello / SSH banner was read
    peer_closed,  // the client closed its side (or reset the connection)
    idle,         // silent for idle-timeout
    deadline,     // open for max-connection-time (a trickle: slowloris)
    limit,        // max-sniff-bytes read without a complete message
    malformed,    // a framing error (TLS lengths): nothing more worth reading
    evicted,      // closed to make room under max-connections
    shutdown,     // the sinkhole was stopping
    error,        // a socket error
    datagram,     // UDP: one datagram, one record
};
std::string_view to_string(Ending);

struct Endpoint {
    std::string address;  // textual IP address (IPv4-mapped IPv6 shown as IPv4)
    std::uint16_t port = 0;
};

struct HitRecord {
    std::chrono::system_clock::time_point time;  // connection accepted / datagram received
    std::chrono::milliseconds duration{0};
    Transport transport = Transport::tcp;
    Endpoint client;
    Endpoint local;
    SniffResult sniffed;
    std::string domain;       // raw: normalised Host, absolute-form authority or SNI
    std::uint64_t bytes = 0;  // bytes read (at most max-sniff-bytes) / datagram size
    std::string first_bytes;  // raw, at most record-bytes
    Ending ending = Ending::complete;
    bool answered = false;  // a block page or TLS alert was sent
};

// Builds the derived fields (domain) from the sniffed ones.
void derive_domain(HitRecord& record);

// Printable ASCII (0x20-0x7e) except '\\' and '"' stands for itself; every
// other byte, and every byte listed in `also`, becomes "\xNN" (lower-case hex).
std::string escape_bytes(std::string_view raw, std::string_view also = {});

// Appends `text` as the inside of a JSON string (RFC 8259): '"', '\\' and
// control bytes escaped. Callers pass escape_bytes() output, so this is the
// second of two independent layers.
void append_json_string(std::string& out, std::string_view text);

std::string base64_encode(std::string_view raw);
std::string hex_encode(std::string_view raw);

// "2024-11-26T10:15:03.123Z"
std::string format_time(std::chrono::system_clock::time_point t);
std::int64_t unix_seconds(std::chrono::system_clock::time_point t);

// "tcp/443": the form of the per-host ports set.
std::string port_label(const HitRecord& record);

// One JSON object and a '\n'.
std::string to_json_line(const HitRecord& record, PayloadEncoding encoding);

// The same fields as (name, value) text pairs, for XADD.
std::vector<std::pair<std::string, std::string>> to_fields(const HitRecord& record,
                                                           PayloadEncoding encoding);

}  // namespace fluxguard::sinkhole
