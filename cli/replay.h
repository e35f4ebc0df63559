#pragma once

#include <ostream>
#include <string>

namespace fluxguard {

// Exit status: 0 all lines replayed, 1 some lines malformed (reported and
// skipped), 2 the configuration or the trace could not be read.
int replay(const std::string& config_path, const std::string& trace_path, std::ostream& out,
           std::ostream& err);

}  // namespace fluxguard
