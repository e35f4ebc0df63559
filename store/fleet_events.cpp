#include "fleet_events.h"

#include <charconv>
#include <cmath>
#include <vector>

namespace fluxguard {

namespace {

void put(std::string& out, std::string_view field) {
    out += std::to_string(field.size());
    out += ':';
    out += field;
    out += ',';
}

// Reads the fields of a netstring list; nullopt unless the input is exactly
// `count` well-formed netstrings.
std::optional<std::vector<std::string_view>> fields(std::string_view in, std::size_t count) {
    std::vector<std::string_view> out;
    while (!in.empty()) {
        std::size_t length = 0;
        auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), length);
        const auto digits = static_cast<std::size_t>(p - in.data());
        if (ec != std::errc() || digits == 0 || digits > 9 || digits >= in.size() ||
            in[digits] != ':')
            return std::nullopt;
        in.remove_prefix(digits + 1);
        if (length >= in.size() || in[length] != ',') return std::nullopt;
        out.push_back(in.substr(0, length));
        in.remove_prefix(length + 1);
        if (out.size() > count) return std::nullopt;
    }
    if (out.size() != count) return std::nullopt;
    return out;
}

std::string number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

}  // namespace

std::string encode_event(const FleetBlock& b) {
    std::string out = "block ";
    put(out, b.domain);
    put(out, number(b.score));
    put(out, std::to_string(b.since));
    put(out, b.source);
    put(out, b.reason);
    put(out, b.evidence_json);
    return out;
}

std::string encode_event(const FleetUnblock& u) {
    std::string out = "unblock ";
    put(out, u.domain);
    put(out, u.reason);
    put(out, u.who);
    return out;
}

std::optional<FleetEvent> decode_event(std::string_view message) {
    if (message.starts_with("block ")) {
        auto f = fields(message.substr(6), 6);
        if (!f || (*f)[0].empty()) return std::nullopt;
        FleetBlock b;
        b.domain = std::string((*f)[0]);
        const auto score = (*f)[1];
        auto [sp, sec] = std::from_chars(score.data(), score.data() + score.size(), b.score);
        if (sec != std::errc() || sp != score.data() + score.size() || !std::isfinite(b.score))
            return std::nullopt;
        const auto since = (*f)[2];
        auto [tp, tec] = std::from_chars(since.data(), since.data() + since.size(), b.since);
        if (tec != std::errc() || tp != since.data() + since.size()) return std::nullopt;
        b.source = std::string((*f)[3]);
        b.reason = std::string((*f)[4]);
        b.evidence_json = std::string((*f)[5]);
        return b;
    }
    if (message.starts_with("unblock ")) {
        auto f = fields(message.substr(8), 3);
        if (!f || (*f)[0].empty()) return std::nullopt;
        return FleetUnblock{std::string((*f)[0]), std::string((*f)[1]), std::string((*f)[2])};
    }
    return std::nullopt;
}

}  // namespace fluxguard
