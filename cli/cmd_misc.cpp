// `fluxctl replay` and `fluxctl settings`: the core's own tools.
#include <iostream>

#include "commands.h"
#include "replay.h"

namespace fluxguard::cli {

namespace {

int run_replay(const Args& args) {
    if (args.positional().size() > 1) throw UsageError("expected at most one TRACE");
    const std::string config = args.value("--config").value_or(config_path_from_environment());
    const std::string trace = args.positional().empty() ? "-" : args.positional()[0];
    return replay(config, trace, std::cout, std::cerr);
}

int run_settings(const Args&) {
    std::cout << describe_settings();
    return 0;
}

}  // namespace

const Command replay_command{
    "replay",
    "replay [--config FILE] [TRACE|-]",
    "score a trace with the module's own engine; one JSON verdict line per flagged domain",
    "Feeds each resolution of TRACE (JSON Lines, docs/trace-format.md; default\n"
    "standard input), in order, through the same scoring engine the Unbound module\n"
    "runs, configured by FILE (fluxguard.conf), and prints each verdict as one JSON\n"
    "line on stdout. Same input, same output. Malformed lines are reported on stderr\n"
    "with their line number and skipped (exit status 1). Needs no Redis.",
    {{"--config", "FILE",
      "fluxguard.conf (default: $FLUXGUARD_CONF, else /etc/fluxguard/fluxguard.conf)"}},
    run_replay};

const Command settings_command{
    "settings",
    "settings",
    "list every fluxguard.conf key with its default and meaning",
    "Prints every key fluxguard.conf accepts, from the code that parses it.",
    {},
    run_settings};

}  // namespace fluxguard::cli
