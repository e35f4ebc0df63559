// A strict reader of the Prometheus text exposition format (0.0.4), written
// from the format's description, for checking what the endpoint serves:
// every line must be a HELP, a TYPE or a sample, each sample's family typed
// before it, label values properly escaped, values Go-parseable floats.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace exposition {

struct Parsed {
    std::map<std::string, std::string> help;  // family -> help (unescaped)
    std::map<std::string, std::string> type;  // family -> type
    // "name{a=\"x\",b=\"y\"}" (labels as written, unescaped values re-escaped) -> value
    std::map<std::string, double> samples;
};

// Throws std::runtime_error naming the line that breaks the format.
Parsed parse(std::string_view text);

}  // namespace exposition
