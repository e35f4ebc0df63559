#include "exposition_parser.h"

#include <cmath>
#include <cstdlib>

namespace exposition {

namespace {

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

[[noreturn]] void fail(std::size_t line, const std::string& why) {
    throw std::runtime_error("exposition line " + std::to_string(line) + ": " + why);
}

double value_of(std::string_view v, std::size_t line) {
    if (v == "+Inf") return INFINITY;
    if (v == "-Inf") return -INFINITY;
    if (v == "NaN") return NAN;
    const std::string s(v);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || s.find_first_of("xXpP") != std::string::npos)
        fail(line, "bad value '" + s + "'");
    return d;
}

// The family a sample belongs to: histogram samples carry a suffix.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
    if (types.count(name)) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s(suffix);
        if (name.size() > s.size() && name.ends_with(s)) {
            auto base = name.substr(0, name.size() - s.size());
            auto it = types.find(base);
            if (it != types.end() && it->second == "histogram") return base;
        }
    }
    return {};
}

}  // namespace

Parsed parse(std::string_view text) {
    Parsed out;
    if (!text.empty() && text.back() != '\n') fail(0, "the text must end with a newline");
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.empty()) fail(line_no, "empty line");
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const bool help = line[2] == 'H';
            auto rest = line.substr(7);
            const auto sp = rest.find(' ');
            if (sp == std::string_view::npos) fail(line_no, "HELP/TYPE without text");
            const std::string name(rest.substr(0, sp));
            for (std::size_t i = 0; i < name.size(); ++i)
                if (!name_char(name[i], i == 0)) fail(line_no, "bad metric name '" + name + "'");
            const auto body = rest.substr(sp + 1);
            if (help) {
                std::string h;
                for (std::size_t i = 0; i < body.size(); ++i) {
                    if (body[i] != '\\') {
                        h.push_back(body[i]);
                        continue;
                    }
                    if (i + 1 >= body.size()) fail(line_no, "dangling backslash in HELP");
                    const char e = body[++i];
                    if (e == '\\')
                        h.push_back('\\');
                    else if (e == 'n')
                        h.push_back('\n');
                    else
                        fail(line_no, "bad escape in HELP");
                }
                if (out.help.count(name)) fail(line_no, "second HELP for " + name);
                out.help[name] = h;
            } else {
                if (body != "counter" && body != "gauge" && body != "histogram" &&
                    body != "summary" && body != "untyped")
                    fail(line_no, "bad TYPE '" + std::string(body) + "'");
                if (out.type.count(name)) fail(line_no, "second TYPE for " + name);
                out.type[name] = std::string(body);
            }
            continue;
        }
        if (line.front() == '#') continue;  // other comments are allowed
        std::size_t i = 0;
        while (i < line.size() && name_char(line[i], i == 0)) ++i;
        if (i == 0) fail(line_no, "sample without a metric name");
        const std::string name(line.substr(0, i));
        std::string key = name;
        if (i < line.size() && line[i] == '{') {
            key += '{';
            ++i;
            bool first = true;
            while (i < line.size() && line[i] != '}') {
                if (!first) {
                    if (line[i] != ',') fail(line_no, "expected ',' between labels");
                    ++i;
                }
                first = false;
                const auto start = i;
                while (i < line.size() && name_char(line[i], i == start) && line[i] != ':') ++i;
                if (i == start) fail(line_no, "bad label name");
                const auto label = line.substr(start, i - start);
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
                    fail(line_no, "expected =\"");
                i += 2;
                std::string value;
                while (i < line.size() && line[i] != '"') {
                    if (line[i] == '\\') {
                        if (i + 1 >= line.size()) fail(line_no, "dangling backslash");
                        const char e = line[++i];
                        if (e == '\\' || e == '"')
                            value.push_back(e);
                        else if (e == 'n')
                            value.push_back('\n');
                        else
                            fail(line_no, "bad escape in a label value");
                    } else {
                        value.push_back(line[i]);
                    }
                    ++i;
                }
                if (i >= line.size()) fail(line_no, "unterminated label value");
                ++i;
                key += std::string(key.back() == '{' ? "" : ",") + std::string(label) + "=\"";
                for (char c : value)
                    key += c == '"'    ? std::string("\\\"")
                           : c == '\\' ? std::string("\\\\")
                           : c == '\n' ? std::string("\\n")
                                       : std::string(1, c);
                key += '"';
            }
            if (i >= line.size()) fail(line_no, "unterminated label set");
            ++i;
            key += '}';
        }
        if (i >= line.size() || line[i] != ' ') fail(line_no, "expected a space before the value");
        auto rest = line.substr(i + 1);
        const auto sp = rest.find(' ');  // an optional timestamp may follow
        const double v = value_of(rest.substr(0, sp), line_no);
        if (family_of(name, out.type).empty())
            fail(line_no, "sample of " + name + " before its TYPE");
        if (out.samples.count(key)) fail(line_no, "duplicate sample " + key);
        out.samples[key] = v;
    }
    return out;
}

}  // namespace exposition
