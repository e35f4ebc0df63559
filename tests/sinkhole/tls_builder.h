// Builds real TLS ClientHello bytes for the sniffer's tests, field by field
// after RFC 8446 4.1.2, so each length can also be made to lie on purpose.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sinkhole_test {

using ByteVector = std::vector<std::uint8_t>;

inline void put8(ByteVector& b, std::size_t v) { b.push_back(static_cast<std::uint8_t>(v)); }
inline void put16(ByteVector& b, std::size_t v) {
    put8(b, v >> 8 & 0xff);
    put8(b, v & 0xff);
}
inline void put24(ByteVector& b, std::size_t v) {
    put8(b, v >> 16 & 0xff);
    put16(b, v & 0xffff);
}
inline void append(ByteVector& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void append(ByteVector& b, const ByteVector& s) { b.insert(b.end(), s.begin(), s.end()); }

struct HelloSpec {
    std::string sni;                // empty: no server_name extension
    std::vector<std::string> alpn;  // empty: no ALPN extension
    std::uint16_t client_version = 0x0303;
    std::size_t session_id = 32;
    std::vector<std::pair<std::uint16_t, ByteVector>> extra;  // before SNI
    bool extensions = true;  // false: a hello without an extensions block
};

inline ByteVector server_name_extension(const std::string& name) {
    ByteVector entry;
    put8(entry, 0);  // host_name
    put16(entry, name.size());
    append(entry, name);
    ByteVector list;
    put16(list, entry.size());
    append(list, entry);
    return list;
}

inline ByteVector alpn_extension(const std::vector<std::string>& protocols) {
    ByteVector names;
    for (const auto& p : protocols) {
        put8(names, p.size());
        append(names, p);
    }
    ByteVector list;
    put16(list, names.size());
    append(list, names);
    return list;
}

// The handshake message: type 1, 24-bit length, ClientHello body.
inline ByteVector client_hello(const HelloSpec& spec) {
    ByteVector body;
    put16(body, spec.client_version);
    for (int i = 0; i < 32; ++i) put8(body, 0x40 + i);  // random
    put8(body, spec.session_id);
    for (std::size_t i = 0; i < spec.session_id; ++i) put8(body, 0xaa);
    put16(body, 6);  // three cipher suites
    put16(body, 0x1301);
    put16(body, 0x1302);
    put16(body, 0xc02f);
    put8(body, 1);  // compression: null
    put8(body, 0);
    if (spec.extensions) {
        ByteVector ext;
        const auto add = [&](std::uint16_t type, const ByteVector& data) {
            put16(ext, type);
            put16(ext, data.size());
            append(ext, data);
        };
        for (const auto& [type, data] : spec.extra) add(type, data);
        if (!spec.sni.empty()) add(0, server_name_extension(spec.sni));
        add(10, ByteVector{0x00, 0x02, 0x00, 0x1d});  // supported_groups: x25519
        if (!spec.alpn.empty()) add(16, alpn_extension(spec.alpn));
        add(43, ByteVector{0x02, 0x03, 0x04});  // supported_versions: TLS 1.3
        put16(body, ext.size());
        append(body, ext);
    }
    ByteVector message;
    put8(message, 1);
    put24(message, body.size());
    append(message, body);
    return message;
}

// The handshake message in TLS records of at most `fragment` bytes.
inline ByteVector records(const ByteVector& message, std::size_t fragment = 16384,
                          std::uint16_t record_version = 0x0301) {
    ByteVector out;
    for (std::size_t pos = 0; pos < message.size(); pos += fragment) {
        const auto n = std::min(fragment, message.size() - pos);
        put8(out, 0x16);
        put16(out, record_version);
        put16(out, n);
        out.insert(out.end(), message.begin() + static_cast<std::ptrdiff_t>(pos),
                   message.begin() + static_cast<std::ptrdiff_t>(pos + n));
    }
    return out;
}

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace sinkhole_test
