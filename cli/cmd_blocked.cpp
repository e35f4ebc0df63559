// `fluxctl blocked`: the fleet's blocklist.
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "indicators.h"
#include "redis_client.h"

namespace fluxguard::cli {

namespace {

int run(const Args& args) {
    const auto ctx = load_context(args);
    auto redis = connect(ctx);
    auto blocks = read_blocks(redis, ctx);
    const auto source = args.value("--source");
    if (source) {
        std::erase_if(blocks, [&](const BlockEntry& b) {
            return !(b.source == *source ||
                     (source->ends_with("*") &&
                      b.source.starts_with(source->substr(0, source->size() - 1))));
        });
    }
    if (args.flag("--json")) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& b : blocks)
            out.push_back({{"domain", b.domain},
                           {"score", b.score},
                           {"since", b.since},
                           {"source", b.source},
                           {"reason", b.reason},
                           {"expires", b.expires > 0 ? nlohmann::ordered_json(b.expires)
                                                     : nlohmann::ordered_json()}});
        std::cout << ordered_json_text(out, 2) << "\n";
        return 0;
    }
    if (blocks.empty()) {
        std::cout << "no blocked domains\n";
        return 0;
    }
    Table table({"DOMAIN", "SCORE", "SINCE", "SOURCE", "EXPIRES", "REASON"}, {false, true});
    for (const auto& b : blocks)
        table.add({b.domain, fmt::format("{:.1f}", b.score), iso_time(b.since), b.source,
                   b.expires > 0 ? iso_time(b.expires) : "-", b.reason});
    std::cout << table.render();
    std::cout << fmt::format("{} blocked domain{}\n", blocks.size(), blocks.size() == 1 ? "" : "s");
    return 0;
}

}  // namespace

const Command blocked_command{
    "blocked",
    "blocked [--source SOURCE] [--json] [--config FILE]",
    "list blocked domains with score, since, source, expiry and reason",
    "Lists every block of the fleet (<prefix>blocked and each <prefix>block:{domain}\n"
    "hash), oldest first. SOURCE is \"detected\", \"operator\", \"feed:NAME\" (\"feed:*\" for\n"
    "every feed) or \"redis\" (a member added to <prefix>blocked by hand). EXPIRES is\n"
    "when a feed's block ends (fluxctl expire lifts it).",
    {{"--source", "SOURCE", "only blocks from this source (a trailing * matches a prefix)"},
     kConfigOption,
     kJsonOption},
    run};

}  // namespace fluxguard::cli
