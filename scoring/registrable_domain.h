// The registrable domain ("eTLD+1") of a name, from the Public Suffix List via
// libpsl. Flux state and blocks are kept per registrable domain, so a family's
// throw-away subdomains add up. Thread-safe: libpsl's lookups are read-only
// on an immutable context, and the memo of parents has its own lock.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct psl_ctx_st;

namespace fluxguard {

class RegistrableDomains {
public:
    // Uses the system's Public Suffix List (Debian's publicsuffix package),
    // in its text form, read at the first construction in the process; falls
    // back to the list built into libpsl.
    RegistrableDomains();

    // "www.example.co.uk" -> "example.co.uk". A name that is itself a public
    // suffix, or that has no registrable part, is returned unchanged, so it
    // is still tracked on its own. Exactly libpsl's psl_registrable_domain().
    std::string of(std::string_view name) const;

    // Memory held by the memo of parents (a few hundred KiB at most), kept
    // as it changes: get_mem asks for it on a resolver thread.
    std::size_t memory_bytes() const;

private:
    // A direct-mapped memo of parents (zone names) and their answers: fixed
    // size, nothing to expire, a colliding parent just takes the slot.
    struct Slot {
        std::string parent;       // "" when unused
        std::string registrable;  // libpsl's answer for parent, "" for none
    };
    static constexpr std::size_t memo_slots = 8192;

    const psl_ctx_st* active_ = nullptr;  // the process's list (registrable_domain.cpp)
    mutable std::mutex memo_mutex_;
    mutable std::vector<Slot> memo_;
    mutable std::size_t memo_heap_bytes_ = 0;  // strings beyond their inline buffers
};

}  // namespace fluxguard
