// The "key: value" format of fluxguard.conf and sinkhole.conf, parsed once for
// both: one setting per line, '#' starts a comment (not inside double quotes),
// a value may be double-quoted. Each file declares its keys in a table (key,
// default, help, handler); this parser reads the lines, hands each value to
// its key's handler and words every error as "file:line: key 'k': ...".
// Pure functions over text; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fluxguard {

// What start-up reports for a configuration it refuses: "file:line: ...".
class ConfigError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace config_parser {

// Thrown by a key's handler; the parser adds file, line, key and value.
struct BadValue {
    std::string expected;  // "an integer from 1 to 3600"
};

struct Key {
    std::string_view name;
    std::string_view default_text;  // as --help shows it
    std::string_view help;
    std::function<void(std::string_view value)> apply;  // throws BadValue
    bool repeatable = false;                            // may stand on several lines
    bool secret = false;                                // its value never appears in an error
};

// What the error for a line without ':' shows when its first word is no key.
// Such a line may be a secret on a line of its own, so fluxguard.conf hides
// it; the sinkhole quotes it. A line whose first word is a key is never quoted.
enum class UnsplitLine { hidden, quoted };

// The lines the keys stood on, for the checks that span several keys.
struct KeyLines {
    std::map<std::string, std::size_t, std::less<>> given;  // key -> the last line it is on
    std::size_t last = 0;                                   // the file's last line

    // Where `key` was (last) given, else the file's last line (where it is missing).
    std::size_t of(std::string_view key) const;
};

// Hands every value in `text` to its key's handler, in file order. Throws
// ConfigError for a line that is not "key: value", an unknown key, a key given
// twice that may not repeat, and a value its handler refused.
KeyLines parse(std::string_view text, const std::string& file, const std::vector<Key>& keys,
               UnsplitLine unsplit);

// The whole file; ConfigError "path:0: cannot read configuration: why".
std::string read_file(const std::string& path);

// "key: default  # help", one line per key, for --help and the READMEs.
std::string describe(const std::vector<Key>& keys);

// Bytes outside printable ASCII as \xNN: text quoted in an error stays one
// harmless line on a terminal or in a log.
std::string printable(std::string_view text);

// Value parsers for handlers; they throw BadValue.
std::uint64_t parse_uint(std::string_view value, std::uint64_t min, std::uint64_t max);
bool parse_yes_no(std::string_view value);

}  // namespace config_parser
}  // namespace fluxguard
