#include "feed_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

#include "dns_name.h"

namespace fluxguard::cli {

std::optional<FeedFormat> parse_feed_format(std::string_view t) {
    if (t == "auto") return FeedFormat::automatic;
    if (t == "list") return FeedFormat::list;
    if (t == "hosts") return FeedFormat::hosts;
    if (t == "csv") return FeedFormat::csv;
    if (t == "rpz") return FeedFormat::rpz;
    return std::nullopt;
}

std::string_view to_string(FeedFormat f) {
    switch (f) {
        case FeedFormat::automatic:
            return "auto";
        case FeedFormat::list:
            return "list";
        case FeedFormat::hosts:
            return "hosts";
        case FeedFormat::csv:
            return "csv";
        case FeedFormat::rpz:
            return "rpz";
    }
    return "?";
}

namespace {

using Kind = FeedProblem::Kind;

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// What a quoted feed value may show: printable, one line, bounded.
std::string shown(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 80)) {
        if (c >= 0x20 && c < 0x7f)
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("\\x{:02x}", c);
    }
    if (s.size() > 80) out += "...";
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return lines;
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
        const auto start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

void add_problem(FeedResult& r, Kind kind, std::size_t line, std::string message) {
    r.problems.push_back({kind, line, std::move(message)});
}

// An address no flux agent can have on the internet: in the flux pool it
// would only make local names look like flux.
const char* non_public(const IpAddress& ip) {
    const auto b = ip.bytes();
    if (ip.family() == IpAddress::Family::v4) {
        if (b[0] == 0) return "unspecified ('this network')";
        if (b[0] == 127) return "loopback";
        if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168))
            return "private (RFC 1918)";
        if (b[0] == 100 && (b[1] & 0xC0) == 64) return "shared address space (RFC 6598)";
        if (b[0] == 169 && b[1] == 254) return "link-local";
        if (b[0] >= 224) return "multicast or reserved";
        return nullptr;
    }
    const bool zero_to_10 =
        std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; });
    if (zero_to_10 && b[10] == 0xFF && b[11] == 0xFF) {
        std::array<std::uint8_t, 4> v4{b[12], b[13], b[14], b[15]};
        return non_public(IpAddress::v4(v4));
    }
    if (std::all_of(b.begin(), b.begin() + 15, [](std::uint8_t x) { return x == 0; }))
        return b[15] == 0 ? "unspecified" : b[15] == 1 ? "loopback" : nullptr;
    if (b[0] == 0xFF) return "multicast";
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local";
    if ((b[0] & 0xFE) == 0xFC) return "unique local (private)";
    return nullptr;
}

void add_address(FeedResult& r, const IpAddress& ip, std::size_t line) {
    if (const char* why = non_public(ip)) {
        add_problem(
            r, Kind::refused, line,
            fmt::format("'{}' is not a public address ({}): a feed cannot put it in the flux pool",
                        ip.to_string(), why));
        return;
    }
    r.indicators.push_back({line, {}, ip});
}

// A domain or an address, as one list entry or CSV cell.
void add_indicator(FeedResult& r, const FeedChecker& checker, std::string_view text,
                   std::size_t line, bool addresses_allowed) {
    if (auto ip = IpAddress::parse(text)) {
        if (!addresses_allowed) {
            add_problem(r, Kind::malformed, line,
                        fmt::format("'{}' is an address, expected a domain", shown(text)));
            return;
        }
        add_address(r, *ip, line);
        return;
    }
    auto v = checker.check_domain(text);
    if (v.problem) {
        add_problem(r, *v.problem, line, v.message);
        return;
    }
    r.indicators.push_back({line, v.domain, std::nullopt});
}

std::string_view strip_hash_comment(std::string_view line) {
    const auto hash = line.find('#');
    return hash == std::string_view::npos ? line : line.substr(0, hash);
}

void parse_list(std::string_view text, const FeedChecker& checker, FeedResult& r) {
    std::size_t line_no = 0;
    for (auto raw : split_lines(text)) {
        ++line_no;
        auto line = trim(strip_hash_comment(raw));
        if (!line.empty() && line.front() == ';') line = {};
        if (line.empty()) {
            ++r.ignored;
            continue;
        }
        const auto w = words(line);
        if (w.size() != 1) {
            add_problem(
                r, Kind::malformed, line_no,
                fmt::format("expected one domain or address per line, got '{}'", shown(line)));
            continue;
        }
        add_indicator(r, checker, w[0], line_no, true);
    }
}

bool local_host_name(std::string_view name) {
    static const std::set<std::string_view> names = {
        "localhost",     "localhost.localdomain", "local",        "broadcasthost",
        "ip6-localhost", "ip6-loopback",          "ip6-localnet", "ip6-mcastprefix",
        "ip6-allnodes",  "ip6-allrouters",        "ip6-allhosts", "0.0.0.0"};
    return names.contains(lower(name));
}

// "0.0.0.0 evil.example other.example": the address is where the hosts file
// sends the names (a sink), not an indicator; the names are.
void parse_hosts(std::string_view text, const FeedChecker& checker, FeedResult& r) {
    std::size_t line_no = 0;
    for (auto raw : split_lines(text)) {
        ++line_no;
        const auto line = trim(strip_hash_comment(raw));
        if (line.empty()) {
            ++r.ignored;
            continue;
        }
        const auto w = words(line);
        if (w.size() < 2 || !IpAddress::parse(w[0])) {
            add_problem(
                r, Kind::malformed, line_no,
                fmt::format("expected 'ADDRESS NAME...' (hosts file), got '{}'", shown(line)));
            continue;
        }
        bool any = false;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (local_host_name(w[i])) continue;
            add_indicator(r, checker, w[i], line_no, false);
            any = true;
        }
        if (!any) ++r.ignored;
    }
}

// One CSV record (RFC 4180 quoting, on one line). nullopt for an unbalanced quote.
std::optional<std::vector<std::string>> csv_fields(std::string_view line) {
    std::vector<std::string> out;
    std::string field;
    bool quoted = false;
    bool was_quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < line.size() && line[i + 1] == '"') {
                    field.push_back('"');
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                field.push_back(c);
            }
        } else if (c == '"' && trim(field).empty() && !was_quoted) {
            field.clear();
            quoted = true;
            was_quoted = true;
        } else if (c == ',') {
            out.push_back(was_quoted ? field : std::string(trim(field)));
            field.clear();
            was_quoted = false;
        } else if (c != '\r') {
            if (was_quoted && c != ' ' && c != '\t')
                return std::nullopt;  // text after a closing quote
            if (!was_quoted) field.push_back(c);
        }
    }
    if (quoted) return std::nullopt;
    out.push_back(was_quoted ? field : std::string(trim(field)));
    return out;
}

void parse_csv(std::string_view text, const FeedChecker& checker, FeedResult& r) {
    std::size_t line_no = 0;
    std::optional<std::size_t> column;
    bool addresses_allowed = true;
    std::size_t header_line = 0;
    for (auto raw : split_lines(text)) {
        ++line_no;
        auto line = trim(raw);
        if (line.empty()) {
            ++r.ignored;
            continue;
        }
        // Comment lines; abuse.ch-style files put the header in one ("# id,domain,...").
        const bool comment = line.front() == '#';
        if (comment) line = trim(line.substr(1));
        if (!column) {
            auto fields = csv_fields(line);
            if (fields) {
                for (std::size_t i = 0; i < fields->size(); ++i) {
                    const auto name = lower(trim((*fields)[i]));
                    if (name == "domain" || name == "domain_name" || name == "domain-name") {
                        column = i;
                        addresses_allowed = false;
                        break;
                    }
                    if (name == "indicator" && !column) column = i;
                }
            }
            if (column) {
                header_line = line_no;
                ++r.ignored;
                continue;
            }
            if (comment) {
                ++r.ignored;
                continue;
            }
            add_problem(r, Kind::malformed, line_no,
                        "expected a header line naming a 'domain' or 'indicator' column first; "
                        "the rest of the file is skipped");
            return;
        }
        if (comment) {
            ++r.ignored;
            continue;
        }
        auto fields = csv_fields(line);
        if (!fields) {
            add_problem(r, Kind::malformed, line_no, "unbalanced quotes in a CSV line");
            continue;
        }
        if (*column >= fields->size()) {
            add_problem(
                r, Kind::malformed, line_no,
                fmt::format("{} fields, but the header (line {}) puts the indicator in field {}",
                            fields->size(), header_line, *column + 1));
            continue;
        }
        const auto value = trim((*fields)[*column]);
        if (value.empty()) {
            add_problem(r, Kind::malformed, line_no, "empty indicator field");
            continue;
        }
        add_indicator(r, checker, value, line_no, addresses_allowed);
    }
}

// ---- RPZ zone files -------------------------------------------------------

bool is_rr_type(std::string_view t) {
    static const std::set<std::string, std::less<>> types = {
        "A",       "AAAA",       "CNAME",      "NS",    "SOA",   "TXT",   "MX",     "PTR",
        "SRV",     "DNAME",      "CAA",        "HINFO", "NAPTR", "DS",    "DNSKEY", "RRSIG",
        "NSEC",    "NSEC3",      "NSEC3PARAM", "TLSA",  "SSHFP", "HTTPS", "SVCB",   "LOC",
        "SPF",     "RP",         "AFSDB",      "CERT",  "DHCID", "URI",   "ZONEMD", "CDS",
        "CDNSKEY", "OPENPGPKEY", "SMIMEA",     "ANY"};
    const auto up = [&] {
        std::string s(t);
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
    }();
    if (types.contains(up)) return true;
    if (up.size() > 4 && up.starts_with("TYPE"))
        return std::all_of(up.begin() + 4, up.end(), [](char c) { return c >= '0' && c <= '9'; });
    return false;
}

bool is_class(std::string_view t) {
    const auto l = lower(t);
    return l == "in" || l == "ch" || l == "hs" || l == "cs";
}

bool is_ttl(std::string_view t) {
    if (t.empty()) return false;
    // 3600, or BIND's 1h30m style.
    return std::all_of(t.begin(), t.end(),
                       [](char c) {
                           return std::isdigit(static_cast<unsigned char>(c)) ||
                                  std::strchr("smhdwSMHDW", c);
                       }) &&
           std::isdigit(static_cast<unsigned char>(t.front()));
}

struct LogicalLine {
    std::size_t line = 0;
    bool owner_given = false;  // first character not blank
    std::vector<std::string> tokens;
};

// Joins parenthesised records spanning lines, drops ';' comments outside
// quotes. An error leaves `error` set with the line it started on.
std::vector<LogicalLine> zone_lines(std::string_view text, FeedResult& r) {
    std::vector<LogicalLine> out;
    std::size_t line_no = 0;
    int depth = 0;
    LogicalLine current;
    for (auto raw : split_lines(text)) {
        ++line_no;
        if (depth == 0) {
            current = LogicalLine{};
            current.line = line_no;
            current.owner_given = !raw.empty() && raw.front() != ' ' && raw.front() != '\t';
        }
        std::string token;
        bool quoted = false;
        bool bad = false;
        auto flush = [&] {
            if (!token.empty()) current.tokens.push_back(std::move(token));
            token.clear();
        };
        for (std::size_t i = 0; i < raw.size(); ++i) {
            const char c = raw[i];
            if (quoted) {
                token.push_back(c);
                if (c == '\\' && i + 1 < raw.size())
                    token.push_back(raw[++i]);
                else if (c == '"')
                    quoted = false;
                continue;
            }
            if (c == ';') break;
            if (c == '"') {
                token.push_back(c);
                quoted = true;
            } else if (c == '\\' && i + 1 < raw.size()) {
                token.push_back(c);
                token.push_back(raw[++i]);
            } else if (c == '(') {
                flush();
                ++depth;
            } else if (c == ')') {
                flush();
                if (--depth < 0) bad = true;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                flush();
            } else {
                token.push_back(c);
            }
        }
        flush();
        if (quoted || bad) {
            add_problem(r, Kind::malformed, current.line,
                        quoted ? "unterminated quoted string" : "')' without '('");
            depth = 0;
            continue;
        }
        if (depth > 0) continue;
        if (current.tokens.empty()) {
            ++r.ignored;
            continue;
        }
        out.push_back(std::move(current));
    }
    if (depth > 0) add_problem(r, Kind::malformed, current.line, "'(' never closed");
    return out;
}

std::string lower_name(std::string_view name) {
    std::string n = lower(name);
    return n;
}

void parse_rpz(std::string_view text, const FeedChecker& checker, FeedResult& r) {
    std::string origin;  // current $ORIGIN, absolute without the trailing dot ("" unknown)
    std::string apex;    // the zone's own name, once known
    std::string last_owner;
    for (const auto& ll : zone_lines(text, r)) {
        const auto& t = ll.tokens;
        if (t[0].starts_with("$")) {
            const auto directive = lower(t[0]);
            if (directive == "$origin" && t.size() == 2 && t[1].ends_with(".")) {
                origin = lower_name(std::string_view(t[1]).substr(0, t[1].size() - 1));
                if (apex.empty()) apex = origin;
                ++r.ignored;
            } else if (directive == "$ttl" && t.size() == 2 && is_ttl(t[1])) {
                ++r.ignored;
            } else if (directive == "$include") {
                add_problem(r, Kind::skipped, ll.line,
                            "$INCLUDE is not followed: import the included file itself");
            } else {
                add_problem(r, Kind::malformed, ll.line,
                            fmt::format("bad directive '{}'", shown(t[0])));
            }
            continue;
        }
        std::size_t i = 0;
        std::string owner;
        if (ll.owner_given) {
            owner = t[0];
            i = 1;
        } else if (last_owner.empty()) {
            add_problem(r, Kind::malformed, ll.line, "a record without an owner name before it");
            continue;
        } else {
            owner = last_owner;
        }
        // [TTL] [CLASS] or [CLASS] [TTL], then the type.
        for (int k = 0; k < 2 && i < t.size(); ++k)
            if (is_ttl(t[i]) || is_class(t[i])) ++i;
        if (i >= t.size() || !is_rr_type(t[i])) {
            add_problem(r, Kind::malformed, ll.line,
                        i >= t.size() ? "no record type"
                                      : fmt::format("unknown record type '{}'", shown(t[i])));
            continue;
        }
        const std::string type = [&] {
            std::string s = t[i];
            for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return s;
        }();
        const std::vector<std::string> rdata(t.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                             t.end());
        if (rdata.empty()) {
            add_problem(r, Kind::malformed, ll.line, fmt::format("{} record without data", type));
            continue;
        }
        last_owner = owner;

        // The owner, relative to the zone's apex, is the trigger.
        std::string name = lower_name(owner);
        std::string full;  // absolute, without the trailing dot; "" when no origin is known
        bool absolute = false;
        if (name == "@") {
            full = origin;
            absolute = !origin.empty();
        } else if (name.ends_with(".")) {
            full = name.substr(0, name.size() - 1);
            absolute = true;
        } else if (!origin.empty()) {
            full = name + "." + origin;
            absolute = true;
        }
        if (absolute && apex.empty() && type == "SOA") apex = full;
        if (absolute) {
            if (full == apex)
                name.clear();
            else if (!apex.empty() && full.ends_with("." + apex))
                name = full.substr(0, full.size() - apex.size() - 1);
            else {
                add_problem(r, Kind::malformed, ll.line,
                            fmt::format("'{}' is outside the zone{}", shown(owner),
                                        apex.empty() ? " (no $ORIGIN or SOA names it)"
                                                     : " '" + shown(apex) + "'"));
                continue;
            }
        } else if (name == "@") {
            name.clear();
        }
        if (name.empty()) {  // the apex: SOA, NS and the like
            ++r.ignored;
            continue;
        }

        // The action.
        if (type == "CNAME") {
            const auto target = lower(rdata[0]);
            if (target == "rpz-passthru." || target == "rpz-tcp-only.") {
                add_problem(r, Kind::skipped, ll.line,
                            fmt::format("'{}' is a {} rule, not a block", shown(owner),
                                        target.substr(0, target.size() - 1)));
                continue;
            }
            // ".", "*.", "rpz-drop." and redirections all keep clients from the name.
        }
        // The trigger.
        std::string_view trigger = name;
        const auto last_label = trigger.substr(
            trigger.rfind('.') == std::string_view::npos ? 0 : trigger.rfind('.') + 1);
        if (last_label == "rpz-ip") {
            const auto labels = trigger.substr(
                0, trigger.size() - std::min(trigger.size(), std::string_view(".rpz-ip").size()));
            int prefix = -1;
            auto ip = parse_rpz_ip(labels, &prefix);
            if (ip)
                r.indicators.push_back({ll.line, {}, *ip});
            else if (prefix >= 0)
                add_problem(r, Kind::skipped, ll.line,
                            fmt::format("'{}': a /{} network; only single addresses (/32, /128) go "
                                        "into the flux pool",
                                        shown(owner), prefix));
            else
                add_problem(r, Kind::malformed, ll.line,
                            fmt::format("'{}': bad rpz-ip address", shown(owner)));
            continue;
        }
        if (last_label == "rpz-nsdname" || last_label == "rpz-nsip" ||
            last_label == "rpz-client-ip") {
            add_problem(
                r, Kind::skipped, ll.line,
                fmt::format("'{}': {} triggers are not imported (fluxguard blocks query names)",
                            shown(owner), last_label));
            continue;
        }
        if (trigger.starts_with("rpz-")) {
            add_problem(r, Kind::skipped, ll.line,
                        fmt::format("'{}': unknown rpz- trigger", shown(owner)));
            continue;
        }
        auto v = checker.check_domain(trigger);
        if (v.problem) {
            add_problem(r, *v.problem, ll.line, v.message);
            continue;
        }
        r.indicators.push_back({ll.line, v.domain, std::nullopt});
    }
}

FeedFormat detect(std::string_view text, std::string_view file_name) {
    const auto lname = lower(file_name);
    if (lname.ends_with(".csv")) return FeedFormat::csv;
    if (lname.ends_with(".rpz") || lname.ends_with(".zone") || lname.ends_with(".db"))
        return FeedFormat::rpz;
    if (lname.ends_with(".hosts") || lname.ends_with("/hosts") || lname == "hosts")
        return FeedFormat::hosts;
    for (auto raw : split_lines(text)) {
        const auto line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        const auto w = words(line);
        if (line.front() == '$' || std::any_of(w.begin(), w.end(), [](std::string_view x) {
                const auto u = lower(x);
                return u == "soa" || u == "cname";
            }))
            return FeedFormat::rpz;
        if (w.size() >= 2 && IpAddress::parse(w[0])) return FeedFormat::hosts;
        if (line.find(',') != std::string_view::npos) return FeedFormat::csv;
        return FeedFormat::list;
    }
    return FeedFormat::list;
}

}  // namespace

FeedChecker::Verdict FeedChecker::check_domain(std::string_view text) const {
    Verdict v;
    auto fail = [&](Kind kind, std::string message) {
        v.problem = kind;
        v.message = std::move(message);
        return v;
    };
    std::string_view s = trim(text);
    if (s.find("://") != std::string_view::npos || s.find('/') != std::string_view::npos)
        return fail(Kind::malformed,
                    fmt::format("'{}' is a URL or path, expected a domain", shown(s)));
    if (s == "." || s.empty()) return fail(Kind::refused, "the root cannot be blocked by a feed");
    if (s.starts_with("*.")) s.remove_prefix(2);
    for (unsigned char c : s) {
        if (c >= 0x80)
            return fail(
                Kind::malformed,
                fmt::format("'{}' is not an ASCII domain name (use its xn-- form)", shown(s)));
        if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.'))
            return fail(Kind::malformed,
                        fmt::format("'{}' is not a domain name (character '{}')", shown(s),
                                    shown(std::string_view(reinterpret_cast<const char*>(&c), 1))));
    }
    auto name = normalize_name(s);
    if (!name) return fail(Kind::malformed, fmt::format("'{}' is not a domain name", shown(s)));
    if (name->empty()) return fail(Kind::refused, "the root cannot be blocked by a feed");
    for (std::string_view rest = *name; !rest.empty();) {
        const auto dot = rest.find('.');
        const auto label = rest.substr(0, dot);
        if (label.empty() || label.size() > 63)
            return fail(Kind::malformed, fmt::format("'{}' has a label of {} characters",
                                                     shown(*name), label.size()));
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    if (name->find('.') == std::string::npos)
        return fail(Kind::refused,
                    fmt::format("'{}' is a top-level domain: a feed cannot block it", *name));
    if (is_public_suffix(*name))
        return fail(
            Kind::refused,
            fmt::format("'{}' is a public suffix (Public Suffix List): a feed cannot block it",
                        *name));
    v.domain = *name;
    return v;
}

bool FeedChecker::is_public_suffix(std::string_view domain) const {
    // RegistrableDomains returns a public suffix unchanged; a registrable
    // domain is also returned unchanged, but then so is its child's.
    const std::string d(domain);
    return psl_.of(d) == d && psl_.of("x." + d) != d;
}

FeedResult parse_feed(std::string_view text, FeedFormat format, std::string_view file_name,
                      const FeedChecker& checker) {
    FeedResult r;
    r.format = format == FeedFormat::automatic ? detect(text, file_name) : format;
    switch (r.format) {
        case FeedFormat::list:
            parse_list(text, checker, r);
            break;
        case FeedFormat::hosts:
            parse_hosts(text, checker, r);
            break;
        case FeedFormat::csv:
            parse_csv(text, checker, r);
            break;
        case FeedFormat::rpz:
            parse_rpz(text, checker, r);
            break;
        case FeedFormat::automatic:
            break;
    }
    return r;
}

std::optional<IpAddress> parse_rpz_ip(std::string_view labels, int* prefix_length) {
    std::vector<std::string_view> parts;
    for (std::string_view rest = labels;;) {
        const auto dot = rest.find('.');
        parts.push_back(rest.substr(0, dot));
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    if (parts.size() < 2) return std::nullopt;
    int prefix = 0;
    auto [p, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), prefix);
    if (ec != std::errc() || p != parts[0].data() + parts[0].size()) return std::nullopt;
    std::vector<std::string_view> rev(parts.rbegin(), parts.rend() - 1);  // address order
    const bool zz = std::find(rev.begin(), rev.end(), "zz") != rev.end();
    if (rev.size() == 4 && !zz) {
        std::string text;
        for (std::size_t k = 0; k < 4; ++k) text += (k ? "." : "") + std::string(rev[k]);
        auto ip = IpAddress::parse(text);
        if (!ip || prefix < 1 || prefix > 32) return std::nullopt;
        if (prefix_length) *prefix_length = prefix;
        if (prefix != 32) return std::nullopt;
        return ip;
    }
    std::string text;
    for (std::size_t k = 0; k < rev.size(); ++k) {
        if (k) text += ':';
        if (rev[k] != "zz") {
            text += rev[k];
            continue;
        }
        // "::" at either end, or alone ("128.zz" is the unspecified address).
        if (k == 0) text += ':';
        if (k + 1 == rev.size()) text += ':';
    }
    auto ip = IpAddress::parse(text);
    if (!ip || ip->family() != IpAddress::Family::v6 || prefix < 1 || prefix > 128)
        return std::nullopt;
    if (prefix_length) *prefix_length = prefix;
    if (prefix != 128) return std::nullopt;
    return ip;
}

std::string rpz_ip_labels(const IpAddress& address) {
    const auto b = address.bytes();
    if (address.family() == IpAddress::Family::v4)
        return fmt::format("32.{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
    std::array<unsigned, 8> g{};
    for (std::size_t k = 0; k < 8; ++k) g[k] = (unsigned{b[2 * k]} << 8) | b[2 * k + 1];
    // The longest run (at least two) of zero groups becomes "zz", as "::" in RFC 5952.
    std::size_t best = 8, best_len = 0;
    for (std::size_t k = 0; k < 8;) {
        if (g[k] != 0) {
            ++k;
            continue;
        }
        std::size_t e = k;
        while (e < 8 && g[e] == 0) ++e;
        if (e - k > best_len && e - k >= 2) {
            best = k;
            best_len = e - k;
        }
        k = e;
    }
    std::vector<std::string> groups;
    for (std::size_t k = 0; k < 8; ++k) {
        if (k == best) {
            groups.push_back("zz");
            k += best_len - 1;
            continue;
        }
        groups.push_back(fmt::format("{:x}", g[k]));
    }
    std::string out = "128";
    for (auto it = groups.rbegin(); it != groups.rend(); ++it) out += "." + *it;
    return out;
}

}  // namespace fluxguard::cli
