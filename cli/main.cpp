// fluxctl: the operator's tool. One binary, one subcommand per job, each in
// its own cmd_*.cpp; this file only dispatches and turns errors into exit
// statuses: 0 done, 1 failed (Redis unreachable, a decision not confirmed,
// lines not imported), 2 bad arguments or configuration.
#include <fmt/format.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "geo.h"
#include "redis_client.h"

namespace {

using namespace fluxguard::cli;

const std::vector<const Command*>& commands() {
    static const std::vector<const Command*> table = {
        &status_command,  &blocked_command, &show_command,     &hosts_command,  &deny_command,
        &unblock_command, &allow_command,   &import_command,   &export_command, &expire_command,
        &watch_command,   &replay_command,  &settings_command, &block_command};
    return table;
}

std::string usage() {
    std::string out = "usage: fluxctl COMMAND [options]\n\ncommands:\n";
    for (const auto* c : commands()) out += fmt::format("  {:<9} {}\n", c->name, c->summary);
    out +=
        "\nEvery command takes --help. Commands that read the fleet take --config FILE\n"
        "(fluxguard.conf with 'store: redis'; default $FLUXGUARD_CONF, else\n"
        "/etc/fluxguard/fluxguard.conf) and --json for scripts.\n";
    return out;
}

std::string command_help(const Command& c) {
    std::string out = fmt::format("usage: fluxctl {}\n\n{}\n", c.synopsis, c.description);
    if (!c.options.empty()) out += "\n" + describe_options(c.options);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    // A Redis that closes the connection must give EPIPE, not end the tool.
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        if (args.size() == 2 && args[0] == "help")
            args = {args[1], "--help"};
        else {
            (args.empty() ? std::cerr : std::cout) << usage();
            return args.empty() ? 2 : 0;
        }
    }
    const Command* command = nullptr;
    for (const auto* c : commands())
        if (c->name == args[0]) command = c;
    if (!command) {
        std::cerr << fmt::format("fluxctl: unknown command '{}'\n\n{}", printable(args[0]),
                                 usage());
        return 2;
    }
    args.erase(args.begin());
    const std::string name(command->name);
    try {
        const Args parsed(args, command->options);
        if (parsed.help()) {
            std::cout << command_help(*command);
            return 0;
        }
        return command->run(parsed);
    } catch (const UsageError& e) {
        std::cerr << fmt::format(
            "fluxctl {}: {}\nusage: fluxctl {}\n(fluxctl {} --help for more)\n", name, e.what(),
            command->synopsis, name);
        return 2;
    } catch (const fluxguard::ConfigError& e) {
        std::cerr << fmt::format("fluxctl {}: {}\n", name, e.what());
        return 2;
    } catch (const RedisClientError& e) {
        std::cerr << fmt::format("fluxctl {}: {}\n", name, e.what());
        return 1;
    } catch (const std::exception& e) {
        std::cerr << fmt::format("fluxctl {}: {}\n", name, e.what());
        return 1;
    }
}
