// fluxctl: the operator's tool. One binary, one subcommand per job.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "configuration.h"
#include "fleet_commands.h"
#include "replay.h"

namespace {

constexpr const char* usage = R"(usage: fluxctl <command> [options]

commands:
  replay --config FILE [TRACE]   score a JSON Lines trace (docs/trace-format.md; default
                                 stdin) with the module's own engine and print one JSON
                                 verdict line per flagged domain
  block DOMAIN --config FILE     block a domain on every resolver of the fleet (Redis)
  unblock DOMAIN --config FILE   lift a block on every resolver of the fleet (Redis)
  settings                       list every fluxguard.conf key with its default and meaning

fluxctl <command> --help shows a command's help.
)";

int replay_command(const std::vector<std::string>& args) {
    std::string config, trace = "-";
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            std::cout << "usage: fluxctl replay --config FILE [TRACE|-]\n\n"
                         "Feeds each resolution of TRACE, in order, through the same scoring\n"
                         "engine the Unbound module runs, configured by FILE (fluxguard.conf),\n"
                         "and prints each verdict as one JSON line on stdout. Same input, same\n"
                         "output. Malformed lines are reported on stderr with their line number\n"
                         "and skipped (exit status 1).\n";
            return 0;
        }
        if (args[i] == "--config" && i + 1 < args.size()) {
            config = args[++i];
        } else if (args[i].starts_with("-") && args[i] != "-") {
            std::cerr << "fluxctl replay: unknown option '" << args[i] << "'\n";
            return 2;
        } else {
            trace = args[i];
        }
    }
    if (config.empty()) {
        std::cerr << "fluxctl replay: --config FILE is required\n";
        return 2;
    }
    return fluxguard::replay(config, trace, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << usage;
        return args.empty() ? 2 : 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "replay") return replay_command(args);
    if (command == "block" || command == "unblock") return fluxguard::fleet_decision(command, args);
    if (command == "settings") {
        std::cout << fluxguard::describe_settings();
        return 0;
    }
    std::cerr << "fluxctl: unknown command '" << command << "'\n" << usage;
    return 2;
}
