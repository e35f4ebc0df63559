#include "config_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace fluxguard::config_parser {

namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

// '#' starts a comment, except inside a double-quoted value.
std::string_view strip_comment(std::string_view line) {
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (line[i] == '#' && !quoted)
            return line.substr(0, i);
    }
    return line;
}

std::string_view unquote(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        return value.substr(1, value.size() - 2);
    return value;
}

const Key* find(const std::vector<Key>& keys, std::string_view name) {
    const auto it =
        std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
    return it == keys.end() ? nullptr : &*it;
}

// A line without ':'. The line itself may hold a password ("redis-password
// s3cret"), so a line that starts with a key is never quoted.
[[noreturn]] void throw_unsplit(std::string_view line, const std::string& file, std::size_t line_no,
                                const std::vector<Key>& keys, UnsplitLine unsplit) {
    const auto word = line.substr(0, line.find_first_of(" \t"));
    if (find(keys, word))
        throw ConfigError(
            fmt::format("{}:{}: key '{}': expected 'key: value'", file, line_no, word));
    if (unsplit == UnsplitLine::quoted)
        throw ConfigError(
            fmt::format("{}:{}: expected 'key: value', got '{}'", file, line_no, printable(line)));
    throw ConfigError(fmt::format("{}:{}: expected 'key: value'", file, line_no));
}

}  // namespace

std::size_t KeyLines::of(std::string_view key) const {
    const auto it = given.find(key);
    return it == given.end() ? last : it->second;
}

KeyLines parse(std::string_view text, const std::string& file, const std::vector<Key>& keys,
               UnsplitLine unsplit) {
    KeyLines lines;
    std::istringstream in{std::string(text)};
    for (std::string raw; std::getline(in, raw);) {
        const auto line_no = ++lines.last;
        const auto line = trim(strip_comment(raw));
        if (line.empty()) continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) throw_unsplit(line, file, line_no, keys, unsplit);
        const auto name = trim(line.substr(0, colon));
        const auto value = unquote(trim(line.substr(colon + 1)));
        const Key* key = find(keys, name);
        if (!key)
            throw ConfigError(
                fmt::format("{}:{}: unknown key '{}'", file, line_no, printable(name)));
        auto& given = lines.given[std::string(name)];
        if (given != 0 && !key->repeatable)
            throw ConfigError(fmt::format("{}:{}: key '{}' given twice (first on line {})", file,
                                          line_no, name, given));
        given = line_no;
        try {
            key->apply(value);
        } catch (const BadValue& bad) {
            throw ConfigError(fmt::format("{}:{}: key '{}': bad value '{}', expected {}", file,
                                          line_no, name, key->secret ? "***" : printable(value),
                                          bad.expected));
        }
    }
    return lines;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}:0: cannot read configuration: {}", path,
                                      std::generic_category().message(errno)));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string describe(const std::vector<Key>& keys) {
    std::string out;
    for (const auto& k : keys) out += fmt::format("{}: {}  # {}\n", k.name, k.default_text, k.help);
    return out;
}

std::string printable(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f)
            out += static_cast<char>(c);
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

std::uint64_t parse_uint(std::string_view value, std::uint64_t min, std::uint64_t max) {
    std::uint64_t out = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc{} || end != value.data() + value.size() || out < min || out > max)
        throw BadValue{fmt::format("an integer from {} to {}", min, max)};
    return out;
}

bool parse_yes_no(std::string_view value) {
    if (value == "yes") return true;
    if (value == "no") return false;
    throw BadValue{"yes or no"};
}

}  // namespace fluxguard::config_parser
