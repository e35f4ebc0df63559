// Command-line parsing shared by every fluxctl subcommand: each declares its
// options once (name, whether it takes a value, help), and the same table
// parses the arguments and prints `--help`.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fluxguard::cli {

// Bad arguments: the message is printed with the command's usage, exit 2.
class UsageError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct OptionSpec {
    std::string_view name;   // "--config"
    std::string_view value;  // "FILE"; empty for a flag
    std::string_view help;
    bool repeatable = false;
};

class Args {
  public:
    // Accepts "--name value", "--name=value", flags, positionals, and "--"
    // (everything after it is positional). "-h" and "--help" are always known.
    // Throws UsageError for an unknown option or a missing value.
    Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);

    bool help() const { return help_; }
    bool flag(std::string_view name) const;
    std::optional<std::string> value(std::string_view name) const;  // the last one given
    std::vector<std::string> values(std::string_view name) const;   // all, in order
    const std::vector<std::string>& positional() const { return positional_; }

    // Integer option in [min, max], or `fallback` when absent; UsageError otherwise.
    long long integer(std::string_view name, long long fallback, long long min,
                      long long max) const;

  private:
    std::vector<std::pair<std::string, std::string>> given_;  // name -> value ("" for flags)
    std::vector<std::string> positional_;
    bool help_ = false;
};

// "  --config FILE   help..." lines for a command's --help.
std::string describe_options(const std::vector<OptionSpec>& specs);

}  // namespace fluxguard::cli
