#include "evidence.h"

#include <nlohmann/json.hpp>

namespace fluxguard {

std::string to_json_line(const Evidence& e, std::string_view action) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : e.parts)
        parts.push_back({{"feature", p.feature},
                         {"value", p.value},
                         {"weight", p.weight},
                         {"factor", p.factor},
                         {"contribution", p.contribution}});
    nlohmann::json features = nlohmann::json::object();
    for (const auto& [name, value] : e.features) features[name] = value;
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& a : e.addresses)
        addresses.push_back({{"ip", a.address}, {"asn", a.asn}, {"country", a.country}});
    const nlohmann::json line = {
        {"event", "fluxguard_verdict"},
        {"action", action},
        {"domain", e.domain},
        {"trigger", e.trigger_name},
        {"time", e.time},
        {"first_seen", e.first_seen},
        {"score", e.score},
        {"threshold", e.threshold},
        {"parts", parts},
        {"features", features},
        {"resolutions", e.resolutions},
        {"min_ttl", e.min_ttl},
        {"addresses", addresses},
        {"name_servers", e.name_servers},
        {"names", e.names},
    };
    // Names come from attackers: replace invalid UTF-8 instead of throwing.
    return line.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

}  // namespace fluxguard
