// The replay trace parser (fluxguard::parse_trace_line): one JSON Lines
// record from a file an operator captured or was sent. A malformed line must
// end in a TraceError; an exception of nlohmann::json (or anything else), a
// crash or a sanitizer report is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dns_name.h"
#include "trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    try {
        auto obs = fluxguard::parse_trace_line(line);
        if (!obs) return 0;
        // Accepted names are normalised, and the chain starts at the query.
        if (fluxguard::normalize_name(obs->qname) != obs->qname) std::abort();
        if (obs->chain.empty() || obs->chain.front() != obs->qname) std::abort();
        if (obs->chain.size() > 17) std::abort();
    } catch (const fluxguard::TraceError&) {
    }
    return 0;
}
