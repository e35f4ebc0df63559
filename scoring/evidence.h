// Why a domain was flagged: every feature's value, weight and contribution,
// so an operator can check the arithmetic. Value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluxguard {

// contribution = value * weight * factor; factor is 1 except for the
// diversity parts, which the geographic spread scales (flux_scorer.h).
struct ScorePart {
    std::string feature;
    double value = 0;
    double weight = 0;
    double factor = 1;
    double contribution = 0;
};

struct AddressEvidence {
    std::string address;
    std::uint32_t asn = 0;
    std::string country;
};

struct Evidence {
    std::string domain;        // registrable domain the state is kept for
    std::string trigger_name;  // the name whose resolution crossed the threshold
    std::int64_t time = 0;
    std::int64_t first_seen = 0;
    double score = 0;
    double threshold = 0;
    std::vector<ScorePart> parts;  // the score is the sum of the contributions
    // Every feature the scorer keeps, weighted or not, for the operator.
    std::vector<std::pair<std::string, double>> features;
    std::uint32_t resolutions = 0;
    std::uint32_t min_ttl = 0;
    std::vector<AddressEvidence> addresses;
    std::vector<std::string> name_servers;
    std::vector<std::string> names;  // names under the domain seen resolving
};

// One line of JSON; `action` says what the policy did ("block", "monitor").
std::string to_json_line(const Evidence& evidence, std::string_view action);

}  // namespace fluxguard
