// What a fleet of resolvers shares through Redis: each instance's sightings
// of a domain, merged into one view; and blocks decided anywhere, mirrored
// everywhere. Resolver threads only ever call submit()/publish_*(), which
// queue and return at once; all network I/O runs on the store's own thread,
// and callbacks are invoked from that thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet_types.h"

namespace fluxguard {

struct FleetStats {
    std::uint64_t submitted = 0;
    std::uint64_t dropped = 0;        // queue full
    std::uint64_t round_trips = 0;
    std::uint64_t errors = 0;
    bool connected = false;
};

class FleetStore {
public:
    struct Callbacks {
        std::function<void(const FleetView&)> on_view;
        std::function<void(const FleetBlock&)> on_block;          // from any instance, self included
        std::function<void(const std::string& domain)> on_unblock;
        // The operators' allow list (<prefix>allow, written by `fluxctl
        // allow`), read at every resync: the whole list each time.
        std::function<void(const std::vector<std::string>& domains)> on_allow_list;
    };
    virtual ~FleetStore() = default;

    // Never blocks. False when the update was dropped (queue full).
    virtual bool submit(FleetUpdate update) = 0;
    virtual void publish_block(FleetBlock block) = 0;
    virtual void publish_unblock(std::string domain, std::string reason, std::string who) = 0;
    // Never blocks; dropped (and counted) when the event lane is full.
    virtual void record_client(ClientHit hit) = 0;
    virtual FleetStats stats() const = 0;
};

}  // namespace fluxguard
