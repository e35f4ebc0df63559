#pragma once

#include <string>
#include <vector>

namespace fluxguard {

// `fluxctl block|unblock DOMAIN --config FILE [--reason TEXT] [--who NAME]`:
// an operator's decision, published through the fleet's Redis store to every
// resolver. Returns the exit status.
int fleet_decision(const std::string& command, const std::vector<std::string>& args);

}  // namespace fluxguard
