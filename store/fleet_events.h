// The messages instances exchange on the <prefix>events channel. A message is
// a word naming the event, a space, then its fields as netstrings
// ("<length>:<bytes>,"), so a domain with any bytes in it (NUL, ',', ':',
// newlines, invalid UTF-8) travels intact, and an ordinary one still reads
// well in `redis-cli SUBSCRIBE`:
//   block 12:evil.example,4:32.4,10:1732600000,8:detected,9:fast flux,0:,
//   unblock 12:evil.example,14:false positive,5:alice,
// Anyone allowed to PUBLISH can send anything, so decoding is strict and
// total: malformed input gives nullopt, never an exception or a crash.
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fleet_store.h"

namespace fluxguard {

struct FleetUnblock {
    std::string domain;
    std::string reason;
    std::string who;
};

// ClientHit never travels on the channel; it shares the event lane to Redis.
using FleetEvent = std::variant<FleetBlock, FleetUnblock, ClientHit>;

std::string encode_event(const FleetBlock& block);
std::string encode_event(const FleetUnblock& unblock);
std::optional<FleetEvent> decode_event(std::string_view message);

}  // namespace fluxguard
