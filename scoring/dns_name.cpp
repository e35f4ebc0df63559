#include "dns_name.h"

#include <fmt/format.h>

#include <algorithm>

namespace fluxguard {

namespace {

bool is_plain(std::uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::uint8_t lower(std::uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

}  // namespace

std::optional<std::string> name_from_wire(std::span<const std::uint8_t> wire) {
    std::string text;
    text.reserve(std::min<std::size_t>(wire.size(), 256));  // the usual name, no \DDD
    std::size_t pos = 0;
    while (true) {
        if (pos >= wire.size()) return std::nullopt;
        const std::uint8_t len = wire[pos];
        if (len == 0) break;
        if (len > 63) return std::nullopt;  // also rejects compression pointers
        if (pos + 1 + len >= wire.size()) return std::nullopt;
        if (!text.empty()) text += '.';
        for (std::size_t i = pos + 1; i <= pos + len; ++i) {
            const std::uint8_t c = lower(wire[i]);
            if (is_plain(c))
                text += static_cast<char>(c);
            else
                text += fmt::format("\\{:03d}", c);
        }
        pos += 1 + len;
    }
    if (pos + 1 > 255) return std::nullopt;
    return text;
}

std::optional<std::vector<std::uint8_t>> name_to_wire(std::string_view text) {
    std::vector<std::uint8_t> wire;
    std::vector<std::uint8_t> label;
    auto close_label = [&] {
        if (label.empty() || label.size() > 63) return false;
        wire.push_back(static_cast<std::uint8_t>(label.size()));
        wire.insert(wire.end(), label.begin(), label.end());
        label.clear();
        return true;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.') {
            if (!close_label()) return std::nullopt;
        } else if (c == '\\') {
            int value = 0;
            for (std::size_t k = 1; k <= 3; ++k) {
                if (i + k >= text.size() || text[i + k] < '0' || text[i + k] > '9') return std::nullopt;
                value = value * 10 + (text[i + k] - '0');
            }
            if (value > 255) return std::nullopt;
            label.push_back(static_cast<std::uint8_t>(value));
            i += 3;
        } else {
            label.push_back(static_cast<std::uint8_t>(c));
        }
    }
    if (!text.empty() && !close_label()) return std::nullopt;
    wire.push_back(0);
    if (wire.size() > 255) return std::nullopt;
    return wire;
}

std::optional<std::string> normalize_name(std::string_view text) {
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.size() > 253) return std::nullopt;
    std::string out;
    out.reserve(text.size());
    std::size_t label = 0;
    for (char ch : text) {
        const auto c = lower(static_cast<std::uint8_t>(ch));
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
        } else {
            if (!is_plain(c) || ++label > 63) return std::nullopt;
        }
        out += static_cast<char>(c);
    }
    if (!out.empty() && label == 0) return std::nullopt;
    return out;
}

bool is_at_or_below(std::string_view name, std::string_view domain) {
    if (domain.empty()) return true;
    if (name.size() < domain.size() || !name.ends_with(domain)) return false;
    return name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.';
}

std::string_view parent_name(std::string_view name) {
    const auto dot = name.find('.');
    return dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
}

}  // namespace fluxguard
