// Protocol sniffing: what the first bytes a client sends say about it. Pure
// functions over a byte span (the bytes read so far), written for hostile
// input and for fuzzing (tests/sinkhole/fuzz_sniff.cpp):
//
//  - every read is bounds-checked against both the bytes present and the
//    length the enclosing structure declares; a declared length is never
//    trusted (a length beyond its parent is `malformed`, a length beyond the
//    bytes present so far is `partial`);
//  - nothing is allocated in proportion to a declared length, only to bytes
//    actually present, and every extracted field is capped (max_* below);
//  - no recursion, no loop that does not consume input;
//  - fields are raw client bytes: escaping is the record's job (hit_record.h).
//
// Recognised: HTTP/1.x request heads (method, target, version, Host,
// User-Agent), TLS ClientHello (SNI, ALPN, versions; the hello may span TLS
// records), SSH banners. Anything else is `unknown`.
//
// Stateless; safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fluxguard::sinkhole {

enum class Protocol { none, unknown, http, tls, ssh };
std::string_view to_string(Protocol);

enum class SniffState {
    partial,    // a prefix of a message (of `protocol`, or of one not yet told apart): read more
    complete,   // a whole HTTP request head, TLS ClientHello or SSH banner line
    malformed,  // claims to be `protocol` but breaks its framing (lengths, types)
    opaque,     // nothing recognisable; more bytes will not change that
};
std::string_view to_string(SniffState);

// Caps on what is kept of each field; longer values are cut (and flagged).
inline constexpr std::size_t max_method = 32;
inline constexpr std::size_t max_target = 2048;
inline constexpr std::size_t max_header_value = 1024;
inline constexpr std::size_t max_server_name = 1024;
inline constexpr std::size_t max_alpn_protocols = 16;
inline constexpr std::size_t max_ssh_banner = 255;  // RFC 4253 4.2

struct HttpRequestInfo {
    std::string method;
    std::string target;
    std::string version;  // "HTTP/1.1"
    std::string host;     // first Host header, raw
    std::string user_agent;
    bool headers_complete = false;
    bool truncated = false;  // a field was longer than its cap
};

struct TlsHelloInfo {
    std::uint16_t record_version = 0;
    std::uint16_t client_version = 0;
    std::string sni;  // first host_name of the server_name extension, raw
    std::vector<std::string> alpn;
    bool truncated = false;
};

struct SniffResult {
    Protocol protocol = Protocol::none;
    SniffState state = SniffState::partial;
    HttpRequestInfo http;    // meaningful when protocol == http
    TlsHelloInfo tls;        // meaningful when protocol == tls
    std::string ssh_banner;  // protocol == ssh: the identification line, no CR/LF
};

using Bytes = std::span<const std::uint8_t>;

// Dispatches on the first bytes. Empty input: {none, partial}.
SniffResult sniff(Bytes data);

// Each sniffer on its own (sniff() calls the right one).
SniffResult sniff_http(Bytes data);
SniffResult sniff_tls(Bytes data);

// The domain a Host header value or an SNI names: ASCII lower-cased, without
// port, brackets or trailing dot. Raw bytes otherwise (escape on output);
// at most max_server_name bytes.
std::string domain_from_host(std::string_view host);

// The domain an HTTP request asked for: its Host header, else the authority
// of an absolute-form target ("http://evil.example/x").
std::string request_domain(const HttpRequestInfo& http);

}  // namespace fluxguard::sinkhole
