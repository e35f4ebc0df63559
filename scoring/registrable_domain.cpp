#include "registrable_domain.h"

#include <libpsl.h>

namespace fluxguard {

void RegistrableDomains::Free::operator()(psl_ctx_st* ctx) const noexcept { psl_free(ctx); }

RegistrableDomains::RegistrableDomains() : ctx_(psl_latest(nullptr)) {
    active_ = ctx_ ? ctx_.get() : psl_builtin();
}

std::string RegistrableDomains::of(std::string_view name) const {
    const std::string n(name);
    const char* reg = active_ ? psl_registrable_domain(active_, n.c_str()) : nullptr;
    return reg ? std::string(reg) : n;
}

}  // namespace fluxguard
