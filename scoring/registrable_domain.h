// The registrable domain ("eTLD+1") of a name, from the Public Suffix List via
// libpsl. Flux state and blocks are kept per registrable domain, so a family's
// throw-away subdomains add up. Safe to share across threads: libpsl's
// lookups are read-only on an immutable context.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct psl_ctx_st;

namespace fluxguard {

class RegistrableDomains {
public:
    // Loads the system's Public Suffix List (Debian's publicsuffix package),
    // in its text form, and falls back to the list built into libpsl.
    RegistrableDomains();

    // "www.example.co.uk" -> "example.co.uk". A name that is itself a public
    // suffix, or that has no registrable part, is returned unchanged, so it
    // is still tracked on its own.
    std::string of(std::string_view name) const;

private:
    struct Free {
        void operator()(psl_ctx_st* ctx) const noexcept;
    };
    std::unique_ptr<psl_ctx_st, Free> ctx_;
    const psl_ctx_st* active_ = nullptr;
};

}  // namespace fluxguard
