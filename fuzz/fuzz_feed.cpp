// libFuzzer entry point: `fluxctl import`'s feed parser (cli/feed_parser.cpp)
// over arbitrary text. The first byte picks the format (or, for automatic
// detection, the file name that guides it); the rest is the feed. Beyond "no
// crash, no sanitizer report" it checks what an import relies on: every
// indicator is one domain or one address on a line of the input; a domain is
// normalised and never a public suffix (a feed must not block "com" or
// "github.io"); every problem names a line and says so in printable ASCII
// (the messages go to an operator's terminal and logs); and RPZ address
// triggers read back what they wrote.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "check.h"
#include "config_parser.h"
#include "dns_name.h"
#include "feed_parser.h"

using namespace fluxguard;
using namespace fluxguard::cli;

namespace {

struct Choice {
    FeedFormat format;
    std::string_view file_name;
};

constexpr Choice choices[] = {
    {FeedFormat::list, "feed"},           {FeedFormat::hosts, "hosts"},
    {FeedFormat::csv, "feed"},            {FeedFormat::rpz, "feed"},
    {FeedFormat::automatic, "feed.txt"},  {FeedFormat::automatic, "feed.csv"},
    {FeedFormat::automatic, "feed.rpz"},  {FeedFormat::automatic, "db.zone"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const FeedChecker checker;  // loads the Public Suffix List once
    const Choice& choice = choices[data[0] % std::size(choices)];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    const FeedResult r = parse_feed(text, choice.format, choice.file_name, checker);
    FUZZ_REQUIRE(r.format != FeedFormat::automatic);
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& i : r.indicators) {
        FUZZ_REQUIRE(i.line >= 1 && i.line <= lines);
        FUZZ_REQUIRE(i.domain.empty() == i.address.has_value());
        if (i.address) {
            FUZZ_REQUIRE(IpAddress::parse(i.address->to_string()) == i.address);
            continue;
        }
        FUZZ_REQUIRE(normalize_name(i.domain) == i.domain);
        FUZZ_REQUIRE(!checker.is_public_suffix(i.domain));
    }
    for (const auto& p : r.problems) {
        FUZZ_REQUIRE(p.line >= 1 && p.line <= lines);
        FUZZ_REQUIRE(!p.message.empty() && config_parser::printable(p.message) == p.message);
    }

    // The labels of an RPZ response-IP trigger, as the whole input.
    if (const auto ip = parse_rpz_ip(text)) FUZZ_REQUIRE(parse_rpz_ip(rpz_ip_labels(*ip)) == ip);
    return 0;
}
