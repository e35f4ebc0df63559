// fluxguard.conf parsing (fluxguard::parse_config) on arbitrary text. A bad
// file must end in a ConfigError naming the file and line; any other
// exception, crash or sanitizer report is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "configuration.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string file = "fuzz.conf";
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const fluxguard::Config config = fluxguard::parse_config(text, file);
        // What the parser accepted must satisfy its own rules.
        if (config.asn_database.empty() || config.country_database.empty()) std::abort();
        if (config.policy == fluxguard::Policy::sinkhole && !config.sinkhole_ipv4) std::abort();
        for (const auto& a : config.allow)
            if (a.empty()) std::abort();
    } catch (const fluxguard::ConfigError& e) {
        const std::string_view what = e.what();
        if (!what.starts_with(file + ":")) {
            std::fprintf(stderr, "fuzz_config: error without file:line: %s\n", e.what());
            std::abort();
        }
    }
    return 0;
}
