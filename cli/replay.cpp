// `fluxctl replay`: feeds a trace through the same Engine the Unbound module
// uses, with the same configuration, and prints each verdict line. Input is
// processed strictly in order on one thread, so the output is a pure function
// of the trace and the configuration.
#include "replay.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "engine.h"
#include "trace.h"

namespace fluxguard {

int replay(const std::string& config_path, const std::string& trace_path, std::ostream& out,
           std::ostream& err) {
    Config config;
    try {
        config = load_config(config_path);
    } catch (const ConfigError& e) {
        err << "fluxctl: " << e.what() << "\n";
        return 2;
    }
    std::ifstream file;
    std::istream* in = &std::cin;
    if (trace_path != "-") {
        file.open(trace_path, std::ios::binary);
        if (!file) {
            err << fmt::format("fluxctl: {}: cannot read trace\n", trace_path);
            return 2;
        }
        in = &file;
    }

    std::size_t flagged = 0;
    auto sink = [&](LogLevel level, std::string_view line) {
        if (level == LogLevel::info) {
            out << line << '\n';
            ++flagged;
        } else {
            err << line << '\n';
        }
    };
    std::unique_ptr<Engine> engine;
    try {
        engine = std::make_unique<Engine>(std::move(config), sink);
    } catch (const std::exception& e) {
        err << fmt::format("fluxctl: {}: {}\n", config_path, e.what());
        return 2;
    }

    std::size_t line_no = 0, resolutions = 0, malformed = 0;
    for (std::string line; std::getline(*in, line);) {
        ++line_no;
        try {
            auto obs = parse_trace_line(line);
            if (!obs) continue;
            engine->observe(*obs);
            ++resolutions;
        } catch (const TraceError& e) {
            ++malformed;
            err << fmt::format("fluxctl: {}:{}: {} (line skipped)\n", trace_path, line_no,
                               e.message);
        }
    }
    err << fmt::format("fluxctl: replayed {} resolutions, {} malformed lines, {} verdicts\n",
                       resolutions, malformed, flagged);
    return malformed == 0 ? 0 : 1;
}

}  // namespace fluxguard
