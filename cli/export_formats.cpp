#include "export_formats.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "dns_name.h"
#include "feed_parser.h"
#include "uuid5.h"

namespace fluxguard::cli {

namespace {

// The canonical presentation form of a domain (\DDD escapes), or nullopt
// when it is not a DNS name at all.
std::optional<std::string> canonical(std::string_view domain) {
    auto wire = name_to_wire(domain);
    if (!wire) return std::nullopt;
    return name_from_wire(*wire);
}

std::string csv_cell(std::string_view text) {
    std::string s(text);
    // A spreadsheet must not run a reason as a formula.
    if (!s.empty() &&
        (s.front() == '=' || s.front() == '+' || s.front() == '-' || s.front() == '@'))
        s.insert(s.begin(), '\'');
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += "\"\"";
        else
            out.push_back(c);
    }
    return out + "\"";
}

const char* family_name(const IpAddress& a) {
    return a.family() == IpAddress::Family::v4 ? "ipv4" : "ipv6";
}

}  // namespace

std::string stix_time(std::int64_t t) {
    auto iso = iso_time(t <= 0 ? 0 : t);
    if (iso == "-") iso = "1970-01-01T00:00:00Z";
    iso.pop_back();
    return iso + ".000Z";
}

std::string stix_pattern_domain(std::string_view domain) {
    std::string v;
    for (char c : domain) {
        if (c == '\\' || c == '\'') v.push_back('\\');
        v.push_back(c);
    }
    return "[domain-name:value = '" + v + "']";
}

std::string stix_pattern_address(const IpAddress& a) {
    return fmt::format("[{}-addr:value = '{}']", family_name(a), a.to_string());
}

std::string export_rpz(const ExportInput& in, std::string_view zone_text,
                       std::vector<std::string>& warnings) {
    std::string zone(zone_text);
    while (zone.ends_with(".")) zone.pop_back();
    std::string out;
    out += fmt::format(
        "; fluxguard response policy zone: {} blocked domains, {} flux pool addresses\n",
        in.blocks.size(), in.pool.size());
    out += fmt::format("; generated {} from {}\n", iso_time(in.generated), in.source_note);
    out += "; QNAME triggers block each domain and every name below it (NXDOMAIN);\n";
    out += "; rpz-ip triggers block answers holding a flux pool address.\n";
    out += fmt::format("$ORIGIN {}.\n$TTL 60\n", zone);
    out += fmt::format("@ SOA localhost. hostmaster.localhost. {} 3600 600 604800 60\n",
                       static_cast<std::uint32_t>(in.generated));
    out += "@ NS localhost.\n";
    std::size_t skipped = 0;
    for (const auto& b : in.blocks) {
        auto name = canonical(b.domain);
        // The owner "*.<domain>.<zone>." must fit in 255 octets too.
        if (!name || name->empty() || !name_to_wire("*." + *name + "." + zone)) {
            warnings.push_back(
                fmt::format("'{}' is not a domain name that fits in zone {}: left out",
                            printable(b.domain), zone));
            ++skipped;
            continue;
        }
        out += fmt::format("{} CNAME .\n*.{} CNAME .\n", *name, *name);
    }
    for (const auto& p : in.pool)
        out += fmt::format("{}.rpz-ip CNAME .\n", rpz_ip_labels(p.address));
    return out;
}

std::string export_stix(const ExportInput& in, std::vector<std::string>& warnings) {
    const Uuid ns = fluxguard_namespace();
    using json = nlohmann::ordered_json;
    // The producer: fixed, so its id and timestamps never change.
    const std::string identity_id = "identity--" + to_string(uuid5(ns, "identity:fluxguard"));
    json identity = {{"type", "identity"},
                     {"spec_version", "2.1"},
                     {"id", identity_id},
                     {"created", "2024-01-01T00:00:00.000Z"},
                     {"modified", "2024-01-01T00:00:00.000Z"},
                     {"name", "fluxguard"},
                     {"description", "fast-flux detection in DNS resolvers"},
                     {"identity_class", "system"}};
    json objects = json::array();
    objects.push_back(identity);
    std::vector<std::string> ids;
    // One indicator per (pattern, valid_from): the same data gives the same
    // ids; a block that starts again is a new indicator, not a changed one.
    auto indicator = [&](const std::string& pattern, std::string name, std::string description,
                         std::int64_t from, std::int64_t until, std::string label) {
        const std::string id =
            "indicator--" + to_string(uuid5(ns, pattern + "@" + std::to_string(from)));
        json o = {{"type", "indicator"},
                  {"spec_version", "2.1"},
                  {"id", id},
                  {"created_by_ref", identity_id},
                  {"created", stix_time(from)},
                  {"modified", stix_time(from)},
                  {"name", std::move(name)},
                  {"description", std::move(description)},
                  {"indicator_types", {"malicious-activity"}},
                  {"pattern", pattern},
                  {"pattern_type", "stix"},
                  {"pattern_version", "2.1"},
                  {"valid_from", stix_time(from)}};
        if (until > from) o["valid_until"] = stix_time(until);
        o["labels"] = json::array({"fluxguard", std::move(label)});
        objects.push_back(std::move(o));
        ids.push_back(id);
    };
    for (const auto& b : in.blocks) {
        auto name = canonical(b.domain);
        if (!name || name->empty()) {
            warnings.push_back(
                fmt::format("'{}' is not a domain name: left out", printable(b.domain)));
            continue;
        }
        std::string description =
            b.source == "detected"
                ? fmt::format("Fast-flux domain (score {}): {}", format_number(b.score), b.reason)
                : fmt::format("Blocked by {}: {}", b.source, b.reason);
        indicator(stix_pattern_domain(*name),
                  (b.source == "detected" ? "fast-flux domain " : "blocked domain ") + *name,
                  std::move(description), b.since, b.expires, b.source);
    }
    for (const auto& p : in.pool) {
        const auto until =
            p.expires > 0 ? p.expires : p.last_seen + static_cast<std::int64_t>(in.pool_ttl);
        indicator(stix_pattern_address(p.address), "fast-flux agent " + p.address.to_string(),
                  "Address serving a blocked fast-flux domain (fluxguard flux pool)", p.last_seen,
                  until, "flux-pool");
    }
    std::string all;
    for (const auto& id : ids) all += id + "\n";
    json bundle = {{"type", "bundle"},
                   {"id", "bundle--" + to_string(uuid5(ns, "bundle:" + all))},
                   {"objects", std::move(objects)}};
    return bundle.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string export_csv(const ExportInput& in) {
    std::string out = "type,indicator,since,score,source,reason,expires\n";
    for (const auto& b : in.blocks)
        out += fmt::format("domain,{},{},{},{},{},{}\n", csv_cell(printable(b.domain)),
                           iso_time(b.since), format_number(b.score), csv_cell(b.source),
                           csv_cell(printable(b.reason)), b.expires > 0 ? iso_time(b.expires) : "");
    for (const auto& p : in.pool)
        out += fmt::format("{},{},{},,pool,,{}\n", family_name(p.address), p.address.to_string(),
                           iso_time(p.last_seen), p.expires > 0 ? iso_time(p.expires) : "");
    return out;
}

std::string export_json(const ExportInput& in) {
    using json = nlohmann::ordered_json;
    json domains = json::array();
    for (const auto& b : in.blocks) {
        json d = {{"domain", b.domain}, {"since", b.since},
                  {"score", b.score},   {"source", b.source},
                  {"reason", b.reason}, {"expires", b.expires > 0 ? json(b.expires) : json()}};
        domains.push_back(std::move(d));
    }
    json addresses = json::array();
    for (const auto& p : in.pool)
        addresses.push_back({{"address", p.address.to_string()},
                             {"family", family_name(p.address)},
                             {"last_seen", p.last_seen},
                             {"expires", p.expires > 0 ? json(p.expires) : json()}});
    json out = {{"generated", in.generated},
                {"source", in.source_note},
                {"domains", std::move(domains)},
                {"addresses", std::move(addresses)}};
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string export_pdns(const std::vector<PdnsRecord>& records) {
    std::string out;
    for (const auto& r : records) {
        nlohmann::ordered_json line = {{"rrname", r.rrname},       {"rrtype", r.rrtype},
                                       {"rdata", r.rdata},         {"time_first", r.time_first},
                                       {"time_last", r.time_last}, {"count", r.count}};
        out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
}

}  // namespace fluxguard::cli
