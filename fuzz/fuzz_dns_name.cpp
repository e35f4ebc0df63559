// Domain names from the wire (fluxguard::name_from_wire, the first thing the
// module does with every owner name and CNAME/NS target an upstream server
// sends) and back (name_to_wire, used for block answers and cache purges).
//
// The input is used twice: as a wire-format name and as presentation text.
// Properties checked, beyond "no crash, no sanitizer report":
//   wire -> text -> wire gives the input's name, lower-cased;
//   text -> wire -> text is stable, and what normalize_name accepts converts;
//   a name is at or below its parent.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns_name.h"

using namespace fluxguard;

namespace {

void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_dns_name: %s: '%.*s'\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

std::uint8_t lower(std::uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

void check_text(const std::string& text) {
    if (!is_at_or_below(text, parent_name(text))) fail("not below its parent", text);
    if (!is_at_or_below(text, text)) fail("not at or below itself", text);
    if (!is_at_or_below(text, "")) fail("not below the root", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> wire(data, size);

    // 1. As a wire-format name.
    if (auto text = name_from_wire(wire)) {
        check_text(*text);
        auto back = name_to_wire(*text);
        if (!back) fail("name_from_wire's output rejected by name_to_wire", *text);
        if (back->size() > size || back->size() > 255) fail("round trip grew the name", *text);
        for (std::size_t i = 0; i < back->size(); ++i)
            if ((*back)[i] != lower(data[i])) fail("wire -> text -> wire differs", *text);
        auto again = name_from_wire(*back);
        if (!again || *again != *text) fail("text -> wire -> text differs", *text);
        // Plain names (no escapes) are already normalised.
        if (text->find('\\') == std::string::npos) {
            auto normal = normalize_name(*text);
            if (!normal || *normal != *text) fail("plain name not normalised", *text);
        }
    }

    // 2. As text (configuration, traces and the core's own names).
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto w = name_to_wire(text)) {
        if (w->empty() || w->back() != 0 || w->size() > 255) fail("bad wire from text", text);
        auto t = name_from_wire(*w);
        if (!t) fail("name_to_wire's output rejected by name_from_wire", text);
        check_text(*t);
        auto w2 = name_to_wire(*t);
        if (!w2 || w2->size() != w->size()) fail("text round trip changed the length", text);
        for (std::size_t i = 0; i < w->size(); ++i)
            if ((*w2)[i] != lower((*w)[i])) fail("text round trip changed bytes", text);
    }
    if (auto n = normalize_name(text)) {
        if (n->size() > 253) fail("normalised name too long", *n);
        check_text(*n);
        auto w = name_to_wire(*n);
        if (!w) fail("normalised name has no wire form", *n);
        auto t = name_from_wire(*w);
        if (!t || *t != *n) fail("normalised name does not round-trip", *n);
    }
    return 0;
}
