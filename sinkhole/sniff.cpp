#include "sniff.h"

#include <algorithm>
#include <array>

namespace fluxguard::sinkhole {

std::string_view to_string(Protocol p) {
    switch (p) {
        case Protocol::none:
            return "none";
        case Protocol::unknown:
            return "unknown";
        case Protocol::http:
            return "http";
        case Protocol::tls:
            return "tls";
        case Protocol::ssh:
            return "ssh";
    }
    return "?";
}

std::string_view to_string(SniffState s) {
    switch (s) {
        case SniffState::partial:
            return "partial";
        case SniffState::complete:
            return "complete";
        case SniffState::malformed:
            return "malformed";
        case SniffState::opaque:
            return "opaque";
    }
    return "?";
}

namespace {

// RFC 9110 5.6.2 token characters.
bool is_tchar(std::uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

bool is_digit(std::uint8_t c) { return c >= '0' && c <= '9'; }

std::uint8_t ascii_lower(std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c - 'A' + 'a') : c;
}

// Appends at most `cap - out.size()` bytes of `piece`; flags the cut.
void keep(std::string& out, Bytes piece, std::size_t cap, bool& truncated) {
    const auto room = cap > out.size() ? cap - out.size() : 0;
    const auto n = std::min(room, piece.size());
    out.append(reinterpret_cast<const char*>(piece.data()), n);
    if (n < piece.size()) truncated = true;
}

bool iequals(Bytes a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != static_cast<std::uint8_t>(lower[i])) return false;
    return true;
}

Bytes trim_ows(Bytes b) {
    std::size_t first = 0;
    std::size_t last = b.size();
    while (first < last && (b[first] == ' ' || b[first] == '\t')) ++first;
    while (last > first && (b[last - 1] == ' ' || b[last - 1] == '\t')) --last;
    return b.subspan(first, last - first);
}

// ---- HTTP -----------------------------------------------------------------

SniffResult with_state(SniffResult r, SniffState state) {
    r.state = state;
    return r;
}

// The request head after the request line: header lines up to the empty one.
// Tolerant on purpose (malware writes sloppy HTTP): bare LF line ends, lines
// without a colon or with a bad name are skipped, obs-fold lines are skipped.
SniffResult http_headers(SniffResult r, Bytes d, std::size_t i) {
    while (i < d.size()) {
        const auto* begin = d.data() + i;
        const auto* lf = std::find(begin, d.data() + d.size(), std::uint8_t{'\n'});
        if (lf == d.data() + d.size()) return with_state(std::move(r), SniffState::partial);
        auto line = d.subspan(i, static_cast<std::size_t>(lf - begin));
        i += line.size() + 1;
        if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
        if (line.empty()) {
            r.http.headers_complete = true;
            return with_state(std::move(r), SniffState::complete);
        }
        if (line[0] == ' ' || line[0] == '\t') continue;  // obs-fold: never extends a field
        const auto colon = std::find(line.begin(), line.end(), std::uint8_t{':'});
        if (colon == line.end() || colon == line.begin()) continue;
        const auto name = line.first(static_cast<std::size_t>(colon - line.begin()));
        if (!std::all_of(name.begin(), name.end(), is_tchar)) continue;
        const auto value = trim_ows(line.subspan(name.size() + 1));
        if (iequals(name, "host") && r.http.host.empty())
            keep(r.http.host, value, max_header_value, r.http.truncated);
        else if (iequals(name, "user-agent") && r.http.user_agent.empty())
            keep(r.http.user_agent, value, max_header_value, r.http.truncated);
    }
    return with_state(std::move(r), SniffState::partial);
}

}  // namespace

// The request line decides: until it is whole and valid (method SP target SP
// HTTP/d[.d] CRLF) the bytes are `unknown` (partial while they could still
// become one, opaque as soon as they cannot).
SniffResult sniff_http(Bytes d) {
    SniffResult r;
    if (d.empty()) return r;
    r.protocol = Protocol::unknown;
    const auto n = d.size();
    const auto partial = [&] { return with_state(r, SniffState::partial); };
    const auto opaque = [&] { return with_state(r, SniffState::opaque); };

    std::size_t i = 0;
    while (i < n && is_tchar(d[i])) {
        if (++i > max_method) return opaque();
    }
    if (i == n) return partial();
    if (i == 0 || d[i] != ' ') return opaque();
    const auto method = d.first(i);
    while (i < n && d[i] == ' ') ++i;
    const auto target_begin = i;
    while (i < n && d[i] > 0x20 && d[i] != 0x7f) ++i;
    if (i == n) return partial();
    if (i == target_begin || d[i] != ' ') return opaque();
    const auto target = d.subspan(target_begin, i - target_begin);
    while (i < n && d[i] == ' ') ++i;
    const auto version_begin = i;
    constexpr std::string_view http_slash = "HTTP/";
    for (char expected : http_slash) {
        if (i == n) return partial();
        if (d[i] != static_cast<std::uint8_t>(expected)) return opaque();
        ++i;
    }
    if (i == n) return partial();
    if (!is_digit(d[i])) return opaque();
    ++i;
    if (i < n && d[i] == '.') {
        if (++i == n) return partial();
        if (!is_digit(d[i])) return opaque();
        ++i;
    }
    const auto version = d.subspan(version_begin, i - version_begin);
    if (i < n && d[i] == '\r') ++i;
    if (i == n) return partial();
    if (d[i] != '\n') return opaque();
    ++i;

    r.protocol = Protocol::http;
    keep(r.http.method, method, max_method, r.http.truncated);
    keep(r.http.target, target, max_target, r.http.truncated);
    keep(r.http.version, version, 8, r.http.truncated);
    return http_headers(std::move(r), d, i);
}

// ---- TLS ------------------------------------------------------------------

namespace {

enum class Status { ok, partial, malformed };

// A read position inside a structure that declares its own end. `end` may
// lie beyond the bytes present (a structure still arriving); it never lies
// beyond its parent's end (checked when the child is made).
struct Cursor {
    Bytes data;
    std::size_t pos;
    std::size_t end;

    // Whether n more bytes may be read: malformed if they would cross the
    // declared end, partial if they have not arrived yet.
    Status need(std::size_t n) const {
        if (n > end - pos) return Status::malformed;
        if (n > data.size() - pos) return Status::partial;
        return Status::ok;
    }
    std::uint8_t u8() { return data[pos++]; }
    std::uint16_t u16() {
        const auto v = static_cast<std::uint16_t>((data[pos] << 8) | data[pos + 1]);
        pos += 2;
        return v;
    }
    Bytes take(std::size_t n) {
        const auto out = data.subspan(pos, n);
        pos += n;
        return out;
    }
    // A child covering the next `len` bytes (which may not have arrived).
    Status child(std::size_t len, Cursor& out) const {
        if (len > end - pos) return Status::malformed;
        out = Cursor{data, pos, pos + len};
        return Status::ok;
    }
    // Moves past a child once it has been read (or skipped).
    Status skip_to(std::size_t new_pos) {
        if (new_pos > data.size()) return Status::partial;
        pos = new_pos;
        return Status::ok;
    }
};

#define SNIFF_TRY(expr)                                            \
    do {                                                           \
        if (const Status s_ = (expr); s_ != Status::ok) return s_; \
    } while (false)

// server_name extension (RFC 6066 3): the first host_name entry.
Status parse_server_name(Cursor e, TlsHelloInfo& tls) {
    SNIFF_TRY(e.need(2));
    const auto list_len = e.u16();
    if (list_len != e.end - e.pos || list_len == 0) return Status::malformed;
    while (e.pos < e.end) {
        SNIFF_TRY(e.need(3));
        const auto type = e.u8();
        const auto len = e.u16();
        if (len == 0) return Status::malformed;
        SNIFF_TRY(e.need(len));
        const auto name = e.take(len);
        if (type == 0 && tls.sni.empty()) keep(tls.sni, name, max_server_name, tls.truncated);
    }
    return Status::ok;
}

// application_layer_protocol_negotiation (RFC 7301 3.1).
Status parse_alpn(Cursor e, TlsHelloInfo& tls) {
    SNIFF_TRY(e.need(2));
    const auto list_len = e.u16();
    if (list_len != e.end - e.pos || list_len < 2) return Status::malformed;
    while (e.pos < e.end) {
        SNIFF_TRY(e.need(1));
        const auto len = e.u8();
        if (len == 0) return Status::malformed;
        SNIFF_TRY(e.need(len));
        const auto name = e.take(len);
        if (tls.alpn.size() < max_alpn_protocols) {
            tls.alpn.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
        } else {
            tls.truncated = true;
        }
    }
    return Status::ok;
}

// ClientHello body (RFC 8446 4.1.2; the same layout back to TLS 1.0).
Status parse_client_hello(Cursor c, TlsHelloInfo& tls) {
    SNIFF_TRY(c.need(2 + 32 + 1));
    tls.client_version = c.u16();
    c.take(32);  // random
    const auto session_id_len = c.u8();
    if (session_id_len > 32) return Status::malformed;
    SNIFF_TRY(c.need(session_id_len));
    c.take(session_id_len);
    SNIFF_TRY(c.need(2));
    const auto suites_len = c.u16();
    if (suites_len < 2 || suites_len % 2 != 0) return Status::malformed;
    SNIFF_TRY(c.need(suites_len));
    c.take(suites_len);
    SNIFF_TRY(c.need(1));
    const auto compression_len = c.u8();
    if (compression_len < 1) return Status::malformed;
    SNIFF_TRY(c.need(compression_len));
    c.take(compression_len);
    if (c.pos == c.end) return Status::ok;  // no extensions (TLS 1.0 clients may omit them)

    SNIFF_TRY(c.need(2));
    const auto extensions_len = c.u16();
    if (extensions_len != c.end - c.pos) return Status::malformed;
    Cursor ext{};
    SNIFF_TRY(c.child(extensions_len, ext));
    bool seen_sni = false;
    bool seen_alpn = false;
    while (ext.pos < ext.end) {
        SNIFF_TRY(ext.need(4));
        const auto type = ext.u16();
        const auto len = ext.u16();
        Cursor body{};
        SNIFF_TRY(ext.child(len, body));
        if (type == 0 && !seen_sni) {
            seen_sni = true;
            SNIFF_TRY(parse_server_name(body, tls));
        } else if (type == 16 && !seen_alpn) {
            seen_alpn = true;
            SNIFF_TRY(parse_alpn(body, tls));
        }
        SNIFF_TRY(ext.skip_to(body.end));
    }
    return Status::ok;
}

#undef SNIFF_TRY

// Largest ClientHello body the field sizes of RFC 8446 allow: version, random,
// session id <0..32>, cipher suites <2..2^16-2>, compression <1..2^8-1>,
// extensions <8..2^16-1> with their length prefixes. Beyond it, the declared
// length is a lie.
constexpr std::size_t max_client_hello = 2 + 32 + 1 + 32 + 2 + 65534 + 1 + 255 + 2 + 65535;
constexpr std::size_t max_record = 16384;  // RFC 8446 5.1: TLSPlaintext.length

SniffState to_state(Status s) {
    switch (s) {
        case Status::ok:
            return SniffState::complete;
        case Status::partial:
            return SniffState::partial;
        case Status::malformed:
            return SniffState::malformed;
    }
    return SniffState::malformed;
}

}  // namespace

// Collects the handshake bytes of consecutive handshake records (a hello may
// be fragmented across records), then parses the ClientHello in them. Fields
// found before the data ran out or went wrong are kept.
SniffResult sniff_tls(Bytes d) {
    SniffResult r;
    if (d.empty()) return r;
    if (d[0] != 0x16) {
        r.protocol = Protocol::unknown;
        r.state = SniffState::opaque;
        return r;
    }
    r.protocol = Protocol::tls;
    std::vector<std::uint8_t> handshake;  // grows only by bytes present in d
    std::size_t needed = 4;               // handshake header, then header + body
    bool know_length = false;
    Status framing = Status::ok;
    std::size_t pos = 0;
    while (handshake.size() < needed) {
        if (pos == d.size()) {
            framing = Status::partial;
            break;
        }
        const auto header = d.subspan(pos, std::min<std::size_t>(5, d.size() - pos));
        if (header[0] != 0x16 || (header.size() > 1 && header[1] != 3) ||
            (header.size() > 2 && header[2] > 4)) {
            framing = Status::malformed;
            break;
        }
        if (header.size() < 5) {
            framing = Status::partial;
            break;
        }
        const auto version = static_cast<std::uint16_t>((header[1] << 8) | header[2]);
        const auto length = static_cast<std::size_t>((header[3] << 8) | header[4]);
        if (pos == 0) r.tls.record_version = version;
        if (length == 0 || length > max_record) {
            framing = Status::malformed;
            break;
        }
        const auto present = std::min(length, d.size() - pos - 5);
        const auto fragment = d.subspan(pos + 5, present);
        handshake.insert(handshake.end(), fragment.begin(), fragment.end());
        pos += 5 + present;
        if (!handshake.empty() && handshake[0] != 1) {  // not a ClientHello
            framing = Status::malformed;
            break;
        }
        if (!know_length && handshake.size() >= 4) {
            const auto body = static_cast<std::size_t>(handshake[1]) << 16 |
                              static_cast<std::size_t>(handshake[2]) << 8 | handshake[3];
            if (body > max_client_hello) {
                framing = Status::malformed;
                break;
            }
            needed = 4 + body;
            know_length = true;
        }
        if (present < length && handshake.size() < needed) {
            framing = Status::partial;
            break;
        }
    }
    if (framing == Status::malformed || handshake.size() < 4) {
        r.state = to_state(framing);
        return r;
    }
    // Only the bytes of this message: a record may carry more after it.
    const Bytes message(handshake.data(), std::min(handshake.size(), needed));
    const auto parsed = parse_client_hello(Cursor{message, 4, needed}, r.tls);
    r.state = to_state(parsed);
    return r;
}

// ---- dispatch and names ----------------------------------------------------

SniffResult sniff(Bytes d) {
    SniffResult r;
    if (d.empty()) return r;
    if (d[0] == 0x16) return sniff_tls(d);
    constexpr std::string_view ssh = "SSH-";
    const auto head = std::min(d.size(), ssh.size());
    if (std::equal(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(head), ssh.begin())) {
        if (d.size() < ssh.size()) return sniff_http(d);  // "SS" could still be a method
        r.protocol = Protocol::ssh;
        const auto window = d.first(std::min(d.size(), max_ssh_banner));
        const auto lf = std::find(window.begin(), window.end(), std::uint8_t{'\n'});
        if (lf == window.end()) {
            r.state = d.size() >= max_ssh_banner ? SniffState::malformed : SniffState::partial;
            return r;
        }
        auto line = window.first(static_cast<std::size_t>(lf - window.begin()));
        if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
        bool truncated = false;
        keep(r.ssh_banner, line, max_ssh_banner, truncated);
        r.state = SniffState::complete;
        return r;
    }
    return sniff_http(d);
}

std::string domain_from_host(std::string_view host) {
    auto h = host;
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
    if (h.starts_with('[')) {
        const auto close = h.find(']');
        h = close == std::string_view::npos ? h.substr(1) : h.substr(1, close - 1);
    } else if (const auto colon = h.find(':'); colon != std::string_view::npos &&
                                               h.find(':', colon + 1) == std::string_view::npos) {
        h = h.substr(0, colon);  // "name:port"; several colons: a bare IPv6 literal, kept
    }
    if (h.ends_with('.')) h.remove_suffix(1);
    h = h.substr(0, std::min(h.size(), max_server_name));
    std::string out(h);
    for (auto& c : out) c = static_cast<char>(ascii_lower(static_cast<std::uint8_t>(c)));
    return out;
}

std::string request_domain(const HttpRequestInfo& http) {
    if (!http.host.empty()) return domain_from_host(http.host);
    std::string_view target = http.target;
    std::string_view lowered_scheme;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() < scheme.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < scheme.size() && same; ++i)
            same = ascii_lower(static_cast<std::uint8_t>(target[i])) ==
                   static_cast<std::uint8_t>(scheme[i]);
        if (same) lowered_scheme = scheme;
    }
    if (lowered_scheme.empty()) return {};
    auto authority = target.substr(lowered_scheme.size());
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);
    return domain_from_host(authority);
}

}  // namespace fluxguard::sinkhole
