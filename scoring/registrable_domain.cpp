#include "registrable_domain.h"

#include <libpsl.h>

#include <string>

namespace fluxguard {

void RegistrableDomains::Free::operator()(psl_ctx_st* ctx) const noexcept { psl_free(ctx); }

namespace {

// The text form of the list psl_latest() would load (Debian's publicsuffix
// package ships both): libpsl answers from it two to four times faster than
// from the DAFSA form (bookworm's libpsl 0.21.2, 350-750 ns a name against
// 550-3,900 ns), and the scorer asks for every answer it sees.
psl_ctx_st* load_text_list() {
    std::string path = psl_dist_filename();
    const std::string dafsa = ".dafsa";
    if (!path.ends_with(dafsa)) return nullptr;
    path.replace(path.size() - dafsa.size(), dafsa.size(), ".dat");
    return psl_load_file(path.c_str());
}

}  // namespace

RegistrableDomains::RegistrableDomains() : ctx_(load_text_list()) {
    if (!ctx_) ctx_.reset(psl_latest(nullptr));
    active_ = ctx_ ? ctx_.get() : psl_builtin();
}

std::string RegistrableDomains::of(std::string_view name) const {
    const std::string n(name);
    const char* reg = active_ ? psl_registrable_domain(active_, n.c_str()) : nullptr;
    return reg ? std::string(reg) : n;
}

}  // namespace fluxguard
