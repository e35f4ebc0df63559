// The replay trace format: JSON Lines, one upstream resolution per line
// (docs/trace-format.md). Parsing lives in the core so the replay tool, the
// fuzzer and the tests read traces exactly one way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "observation.h"

namespace fluxguard {

struct TraceError {
    std::string message;
};

// One line to an Observation. Returns nullopt for blank lines; throws
// TraceError naming the field for a malformed one.
std::optional<Observation> parse_trace_line(std::string_view line);

}  // namespace fluxguard
