#include "hit_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace fluxguard::sinkhole {

std::string_view to_string(Transport t) {
    switch (t) {
        case Transport::tcp:
            return "tcp";
        case Transport::udp:
            return "udp";
    }
    return "?";
}

std::string_view to_string(Ending e) {
    switch (e) {
        case Ending::complete:
            return "complete";
        case Ending::peer_closed:
            return "peer-closed";
        case Ending::idle:
            return "idle";
        case Ending::deadline:
            return "deadline";
        case Ending::limit:
            return "limit";
        case Ending::malformed:
            return "malformed";
        case Ending::evicted:
            return "evicted";
        case Ending::shutdown:
            return "shutdown";
        case Ending::error:
            return "error";
        case Ending::datagram:
            return "datagram";
    }
    return "?";
}

void derive_domain(HitRecord& record) {
    switch (record.sniffed.protocol) {
        case Protocol::http:
            record.domain = request_domain(record.sniffed.http);
            break;
        case Protocol::tls:
            record.domain = domain_from_host(record.sniffed.tls.sni);
            break;
        case Protocol::none:
        case Protocol::unknown:
        case Protocol::ssh:
            record.domain.clear();
            break;
    }
}

namespace {
constexpr char hex_digits[] = "0123456789abcdef";
}

std::string escape_bytes(std::string_view raw, std::string_view also) {
    std::string out;
    out.reserve(raw.size());
    for (const char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        const bool plain = c >= 0x20 && c <= 0x7e && c != '\\' && c != '"' &&
                           also.find(ch) == std::string_view::npos;
        if (plain) {
            out += ch;
        } else {
            out += "\\x";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 0xf];
        }
    }
    return out;
}

void append_json_string(std::string& out, std::string_view text) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                // Control bytes, DEL and (defensively) any non-ASCII byte: the
                // latter cannot come out of escape_bytes(), and alone would
                // not be valid UTF-8.
                if (c < 0x20 || c >= 0x7f) {
                    out += "\\u00";
                    out += hex_digits[c >> 4];
                    out += hex_digits[c & 0xf];
                } else {
                    out += ch;
                }
        }
    }
}

std::string base64_encode(std::string_view raw) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(raw[k]));
    };
    for (; i + 3 <= raw.size(); i += 3) {
        const auto v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    if (const auto rest = raw.size() - i; rest > 0) {
        const auto v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += rest == 2 ? alphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string hex_encode(std::string_view raw) {
    std::string out;
    out.reserve(raw.size() * 2);
    for (const char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0xf];
    }
    return out;
}

std::string format_time(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    auto seconds = static_cast<std::time_t>(ms.count() / 1000);
    auto milli = ms.count() % 1000;
    if (milli < 0) {
        milli += 1000;
        --seconds;
    }
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string port_label(const HitRecord& record) {
    return fmt::format("{}/{}", to_string(record.transport), record.local.port);
}

namespace {

// Every field in one place, in output order; the writers decide the syntax.
// Text passed to w.text() is already escape_bytes() output.
template <class Writer>
void visit_fields(const HitRecord& r, PayloadEncoding encoding, Writer& w) {
    const auto& s = r.sniffed;
    w.text("time", format_time(r.time));
    w.text("transport", to_string(r.transport));
    w.text("client_ip", escape_bytes(r.client.address));
    w.number("client_port", r.client.port);
    w.text("local_ip", escape_bytes(r.local.address));
    w.number("local_port", r.local.port);
    w.text("protocol", to_string(s.protocol));
    w.text("sniff", to_string(s.state));
    if (!r.domain.empty()) w.text("domain", escape_bytes(r.domain));
    if (s.protocol == Protocol::http) {
        w.text("http_method", escape_bytes(s.http.method));
        w.text("http_path", escape_bytes(s.http.target));
        w.text("http_version", escape_bytes(s.http.version));
        if (!s.http.host.empty()) w.text("http_host", escape_bytes(s.http.host));
        if (!s.http.user_agent.empty()) w.text("http_user_agent", escape_bytes(s.http.user_agent));
    }
    if (s.protocol == Protocol::tls) {
        if (s.tls.client_version != 0)
            w.text("tls_version", fmt::format("0x{:04x}", s.tls.client_version));
        if (!s.tls.sni.empty()) w.text("tls_sni", escape_bytes(s.tls.sni));
        if (!s.tls.alpn.empty()) w.list("tls_alpn", s.tls.alpn);
    }
    if (s.protocol == Protocol::ssh && !s.ssh_banner.empty())
        w.text("ssh_banner", escape_bytes(s.ssh_banner));
    if (s.http.truncated || s.tls.truncated) w.boolean("truncated", true);
    w.number("bytes", r.bytes);
    if (encoding == PayloadEncoding::base64)
        w.text("first_bytes_base64", base64_encode(r.first_bytes));
    else
        w.text("first_bytes_hex", hex_encode(r.first_bytes));
    w.text("end", to_string(r.ending));
    w.boolean("answered", r.answered);
    w.number("duration_ms",
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.duration.count())));
}

struct JsonWriter {
    std::string out = "{";
    void name(std::string_view n) {
        if (out.size() > 1) out += ',';
        out += '"';
        out += n;
        out += "\":";
    }
    void text(std::string_view n, std::string_view v) {
        name(n);
        out += '"';
        append_json_string(out, v);
        out += '"';
    }
    void number(std::string_view n, std::uint64_t v) {
        name(n);
        out += fmt::format("{}", v);
    }
    void boolean(std::string_view n, bool v) {
        name(n);
        out += v ? "true" : "false";
    }
    void list(std::string_view n, const std::vector<std::string>& raw) {
        name(n);
        out += '[';
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (i) out += ',';
            out += '"';
            append_json_string(out, escape_bytes(raw[i]));
            out += '"';
        }
        out += ']';
    }
};

struct FieldsWriter {
    std::vector<std::pair<std::string, std::string>> out;
    void text(std::string_view n, std::string_view v) { out.emplace_back(n, v); }
    void number(std::string_view n, std::uint64_t v) { out.emplace_back(n, fmt::format("{}", v)); }
    void boolean(std::string_view n, bool v) { out.emplace_back(n, v ? "true" : "false"); }
    // Comma-separated, with commas inside a protocol name escaped.
    void list(std::string_view n, const std::vector<std::string>& raw) {
        std::string joined;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (i) joined += ',';
            joined += escape_bytes(raw[i], ",");
        }
        out.emplace_back(n, std::move(joined));
    }
};

}  // namespace

std::string to_json_line(const HitRecord& record, PayloadEncoding encoding) {
    JsonWriter w;
    visit_fields(record, encoding, w);
    w.out += "}\n";
    return std::move(w.out);
}

std::vector<std::pair<std::string, std::string>> to_fields(const HitRecord& record,
                                                           PayloadEncoding encoding) {
    FieldsWriter w;
    visit_fields(record, encoding, w);
    return std::move(w.out);
}

}  // namespace fluxguard::sinkhole
