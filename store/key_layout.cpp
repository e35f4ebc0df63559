#include "key_layout.h"

#include <utility>

namespace fluxguard {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool kept_verbatim(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // lower case is never produced, so never accepted: one spelling per byte
}

}  // namespace

KeyLayout::KeyLayout(std::string prefix)
    : prefix_(std::move(prefix)),
      blocked_(prefix_ + "blocked"),
      pool_addr_(prefix_ + "pool:addr"),
      pool_ns_(prefix_ + "pool:ns"),
      channel_(prefix_ + "events"),
      hosts_(prefix_ + "hosts"),
      instances_(prefix_ + "instances") {}

std::string KeyLayout::encode_domain(std::string_view domain) {
    std::string out;
    out.reserve(domain.size() + 8);
    for (char ch : domain) {
        const auto c = static_cast<unsigned char>(ch);
        if (kept_verbatim(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

std::optional<std::string> KeyLayout::decode_domain(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        const auto c = static_cast<unsigned char>(encoded[i]);
        if (kept_verbatim(c)) {
            out.push_back(encoded[i]);
            continue;
        }
        if (c != '%' || i + 2 >= encoded.size()) return std::nullopt;
        const int hi = hex_value(encoded[i + 1]);
        const int lo = hex_value(encoded[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        const auto byte = static_cast<unsigned char>(hi * 16 + lo);
        // A byte that encode_domain keeps verbatim never appears escaped: the
        // encoding has exactly one spelling per domain.
        if (kept_verbatim(byte)) return std::nullopt;
        out.push_back(static_cast<char>(byte));
        i += 2;
    }
    return out;
}

KeyLayout::DomainKeys KeyLayout::domain_keys(std::string_view domain) const {
    const std::string base = prefix_ + "{" + encode_domain(domain) + "}:";
    return DomainKeys{base + "addr", base + "pfx", base + "asn",
                      base + "cc",   base + "ns",  base + "meta"};
}

std::string KeyLayout::block_key(std::string_view domain) const {
    return prefix_ + "block:{" + encode_domain(domain) + "}";
}

KeyLayout::HostKeys KeyLayout::host_keys(std::string_view client) const {
    std::string hash = prefix_ + "host:{" + std::string(client) + "}";
    return HostKeys{hash, hash + ":domains", hash + ":ports"};
}

std::string KeyLayout::instance_key(std::string_view instance_id) const {
    return prefix_ + "instance:{" + encode_domain(instance_id) + "}";
}

std::optional<std::string> KeyLayout::domain_of(std::string_view key) const {
    if (key.substr(0, prefix_.size()) != prefix_) return std::nullopt;
    std::string_view rest = key.substr(prefix_.size());
    bool block = false;
    if (rest.starts_with("block:{")) {
        rest.remove_prefix(6);
        block = true;
    }
    if (!rest.starts_with("{")) return std::nullopt;
    const auto close = rest.find('}');
    if (close == std::string_view::npos) return std::nullopt;
    const auto tail = rest.substr(close + 1);
    if (block ? !tail.empty()
              : !(tail == ":addr" || tail == ":pfx" || tail == ":asn" || tail == ":cc" ||
                  tail == ":ns" || tail == ":meta"))
        return std::nullopt;
    return decode_domain(rest.substr(1, close - 1));
}

}  // namespace fluxguard
