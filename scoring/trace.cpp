#include "trace.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dns_name.h"

namespace fluxguard {

namespace {

using nlohmann::json;

const json& field(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end()) throw TraceError{fmt::format("missing field '{}'", key)};
    return *it;
}

std::string name_field(const json& object, const char* key) {
    const json& v = field(object, key);
    if (!v.is_string()) throw TraceError{fmt::format("field '{}' is not a string", key)};
    auto name = normalize_name(v.get<std::string>());
    if (!name) throw TraceError{fmt::format("field '{}' is not a domain name", key)};
    return *name;
}

std::uint32_t ttl_field(const json& object) {
    const json& v = field(object, "ttl");
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX)
        throw TraceError{"field 'ttl' is not a TTL"};
    return v.get<std::uint32_t>();
}

std::uint16_t type_code(const std::string& type) {
    if (type == "A") return type_a;
    if (type == "AAAA") return type_aaaa;
    if (type == "CNAME") return type_cname;
    if (type == "NS") return type_ns;
    throw TraceError{fmt::format("unsupported type '{}'", type)};
}

int rcode_code(const std::string& rcode) {
    static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    for (int i = 0; i < 6; ++i)
        if (rcode == names[i]) return i;
    throw TraceError{fmt::format("unsupported rcode '{}'", rcode)};
}

Record answer_record(const json& a) {
    if (!a.is_object()) throw TraceError{"an answer is not an object"};
    Record r;
    r.owner = name_field(a, "name");
    const json& type = field(a, "type");
    if (!type.is_string()) throw TraceError{"field 'type' is not a string"};
    r.type = type_code(type.get<std::string>());
    r.ttl = ttl_field(a);
    if (r.type == type_cname || r.type == type_ns) {
        auto wire = name_to_wire(name_field(a, "data"));
        if (!wire) throw TraceError{"field 'data' is not a domain name"};
        r.rdata.assign(wire->begin(), wire->end());
    } else {
        const json& data = field(a, "data");
        auto ip = data.is_string() ? IpAddress::parse(data.get<std::string>()) : std::nullopt;
        if (!ip || (ip->family() == IpAddress::Family::v4) != (r.type == type_a))
            throw TraceError{"field 'data' is not an address of the record's type"};
        r.rdata.assign(ip->bytes().begin(), ip->bytes().end());
    }
    return r;
}

}  // namespace

std::optional<Observation> parse_trace_line(std::string_view line) {
    if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw TraceError{"not a JSON object"};

    Observation obs;
    const json& time = field(j, "time");
    // Seconds since the epoch, up to the year 33658: beyond that a double
    // no longer converts to int64 without undefined behaviour.
    if (!time.is_number() || !std::isfinite(time.get<double>()) || time.get<double>() < 0 ||
        time.get<double>() > 1e12)
        throw TraceError{"field 'time' is not a time in seconds since the epoch"};
    obs.time = static_cast<std::int64_t>(std::floor(time.get<double>()));
    obs.qname = name_field(j, "name");
    const json& type = field(j, "type");
    if (!type.is_string()) throw TraceError{"field 'type' is not a string"};
    obs.qtype = type_code(type.get<std::string>());
    const json& rcode = field(j, "rcode");
    if (!rcode.is_string()) throw TraceError{"field 'rcode' is not a string"};
    obs.rcode = rcode_code(rcode.get<std::string>());

    std::vector<Record> answer;
    const json& answers = field(j, "answers");
    if (!answers.is_array()) throw TraceError{"field 'answers' is not an array"};
    for (const json& a : answers) answer.push_back(answer_record(a));
    follow_answer(obs, answer);

    if (auto zone = j.find("zone"); zone != j.end() && !zone->is_null())
        obs.zone = name_field(j, "zone");
    if (auto ns = j.find("ns"); ns != j.end() && !ns->is_null()) {
        if (!ns->is_array()) throw TraceError{"field 'ns' is not an array"};
        for (const json& server : *ns) {
            if (!server.is_object()) throw TraceError{"an ns entry is not an object"};
            NameServer n{name_field(server, "name"), ttl_field(server), {}};
            if (auto addrs = server.find("addresses"); addrs != server.end()) {
                if (!addrs->is_array()) throw TraceError{"field 'addresses' is not an array"};
                for (const json& a : *addrs) {
                    auto ip = a.is_string() ? IpAddress::parse(a.get<std::string>()) : std::nullopt;
                    if (!ip) throw TraceError{"an ns address is not an address"};
                    n.addresses.push_back(*ip);
                }
            }
            obs.name_servers.push_back(std::move(n));
        }
    }
    return obs;
}

}  // namespace fluxguard
