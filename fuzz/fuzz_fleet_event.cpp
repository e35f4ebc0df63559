// libFuzzer entry point: a message on the fleet's event channel
// (store/fleet_events.cpp), which anyone allowed to PUBLISH on the Redis
// server can send, and what a resolver then does with it: the engine applies
// the block or unblock and answers block look-ups for the name and a name
// below it. Checks, beyond "no crash, no sanitizer report": decoding is
// total (nullopt, never an exception); an event read back from its own
// encoding is the same event; a block applied is found by the look-up, and
// gone after its unblock.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "check.h"
#include "engine.h"
#include "fleet_events.h"

using namespace fluxguard;

namespace {

bool same(const FleetBlock& a, const FleetBlock& b) {
    return a.domain == b.domain && a.score == b.score && a.since == b.since &&
           a.source == b.source && a.reason == b.reason && a.evidence_json == b.evidence_json;
}

bool same(const FleetUnblock& a, const FleetUnblock& b) {
    return a.domain == b.domain && a.reason == b.reason && a.who == b.who;
}

Engine& engine() {
    static Engine e(
        [] {
            Config c;
            c.policy = Policy::nxdomain;
            c.asn_database = FLUXGUARD_FIXTURES "/test-asn.mmdb";
            c.country_database = FLUXGUARD_FIXTURES "/test-country.mmdb";
            return c;
        }(),
        [](LogLevel, std::string_view) {}, [](const std::string&) {});
    return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    const auto event = decode_event(message);
    if (!event) return 0;
    Engine& e = engine();
    if (const auto* block = std::get_if<FleetBlock>(&*event)) {
        const auto again = decode_event(encode_event(*block));
        FUZZ_REQUIRE(again && std::holds_alternative<FleetBlock>(*again));
        FUZZ_REQUIRE(same(std::get<FleetBlock>(*again), *block));
        e.apply_block(*block);
        FUZZ_REQUIRE(e.blocked(block->domain).has_value());
        FUZZ_REQUIRE(e.blocked("below." + block->domain).has_value());
        e.apply_unblock(block->domain);
        FUZZ_REQUIRE(!e.blocked(block->domain).has_value());
    } else if (const auto* unblock = std::get_if<FleetUnblock>(&*event)) {
        const auto again = decode_event(encode_event(*unblock));
        FUZZ_REQUIRE(again && std::holds_alternative<FleetUnblock>(*again));
        FUZZ_REQUIRE(same(std::get<FleetUnblock>(*again), *unblock));
        e.apply_unblock(unblock->domain);
        FUZZ_REQUIRE(!e.blocked(unblock->domain).has_value());
    }
    return 0;
}
