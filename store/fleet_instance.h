// Who this process is in the fleet's registry of resolver instances
// (<prefix>instances and <prefix>instance:{<id>}, store/README.md), the list
// `fluxctl status` prints: the identity a store writes in its heartbeat and
// the name it gives its Redis connections, and the registry's timing, which
// the store that writes it and the tool that reads it must agree on.
//
// Plain values; safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fluxguard {

struct FleetInstance {
    std::string host;  // gethostname(), as it is: any bytes
    std::int64_t pid = 0;
    std::int64_t started = 0;  // Unix s, when the process created its first store
    std::string version;       // fluxguard's; empty when the build did not say

    // This process. Every store of a process is the same instance: a
    // resolver has one, and when Unbound reloads the module its new store
    // takes the old one's place in the registry rather than adding a second.
    static FleetInstance this_process();
    // "<host>:<pid>:<started>": pids are reused, a pid with its start time is not.
    std::string id() const;
    // "fluxguard-resolver-<host>-<pid>" for CLIENT SETNAME. Redis refuses
    // spaces and control bytes in a connection name, so the host is encoded
    // as in key names (KeyLayout::encode_domain).
    std::string client_name() const;
};

// A store writes its heartbeat this often (every resync interval when that
// is shorter).
inline constexpr std::chrono::seconds kHeartbeatInterval{10};
// An instance's hash expires this long after its last heartbeat, and
// `fluxctl status` lists the instances heard from within it: nine heartbeat
// intervals, so a busy Redis that loses a few does not hide a live resolver.
inline constexpr std::chrono::seconds kInstanceTtl{90};
// Members of <prefix>instances older than this leave it at each heartbeat.
inline constexpr std::chrono::seconds kInstanceHistory{86'400};

}  // namespace fluxguard
