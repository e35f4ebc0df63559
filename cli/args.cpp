#include "args.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace fluxguard::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs) {
    bool options_done = false;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (options_done || a == "-" || !a.starts_with("-")) {
            positional_.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            help_ = true;
            continue;
        }
        std::string name = a;
        std::optional<std::string> inline_value;
        if (const auto eq = a.find('='); eq != std::string::npos && a.starts_with("--")) {
            name = a.substr(0, eq);
            inline_value = a.substr(eq + 1);
        }
        const auto spec = std::find_if(specs.begin(), specs.end(),
                                       [&](const OptionSpec& s) { return s.name == name; });
        if (spec == specs.end()) throw UsageError(fmt::format("unknown option '{}'", name));
        if (!spec->repeatable && std::any_of(given_.begin(), given_.end(),
                                             [&](const auto& g) { return g.first == name; }))
            throw UsageError(fmt::format("option '{}' given twice", name));
        if (spec->value.empty()) {
            if (inline_value) throw UsageError(fmt::format("option '{}' takes no value", name));
            given_.emplace_back(name, "");
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= argv.size())
                throw UsageError(fmt::format("option '{}' needs a value ({})", name, spec->value));
            inline_value = argv[++i];
        }
        given_.emplace_back(name, *inline_value);
    }
}

bool Args::flag(std::string_view name) const {
    return std::any_of(given_.begin(), given_.end(),
                       [&](const auto& g) { return g.first == name; });
}

std::optional<std::string> Args::value(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [n, v] : given_)
        if (n == name) out = v;
    return out;
}

std::vector<std::string> Args::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : given_)
        if (n == name) out.push_back(v);
    return out;
}

long long Args::integer(std::string_view name, long long fallback, long long min,
                        long long max) const {
    const auto text = value(name);
    if (!text) return fallback;
    long long v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (text->empty() || ec != std::errc() || p != text->data() + text->size() || v < min ||
        v > max)
        throw UsageError(
            fmt::format("option '{}': bad value '{}', expected an integer from {} to {}", name,
                        *text, min, max));
    return v;
}

std::string describe_options(const std::vector<OptionSpec>& specs) {
    std::vector<std::string> left;
    std::size_t width = 0;
    for (const auto& s : specs) {
        left.push_back(s.value.empty() ? std::string(s.name)
                                       : fmt::format("{} {}", s.name, s.value));
        width = std::max(width, left.back().size());
    }
    std::string out = "options:\n";
    for (std::size_t i = 0; i < specs.size(); ++i)
        out += fmt::format("  {:<{}}  {}\n", left[i], width, specs[i].help);
    out += fmt::format("  {:<{}}  {}\n", "--help", width, "show this help");
    return out;
}

}  // namespace fluxguard::cli
