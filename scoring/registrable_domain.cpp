#include "registrable_domain.h"

#include <libpsl.h>

#include <memory>
#include <string>

#include "heap_bytes.h"

namespace fluxguard {

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

// Read once per process: the list is immutable once loaded and libpsl's
// look-ups only read it, so every engine (after a reload, or the fuzz
// targets' fresh engine per input) shares it instead of parsing ~10,000
// rules again. Freed at exit (or when the module is unloaded).
const psl_ctx_st* shared_list() {
    struct Free {
        void operator()(psl_ctx_st* ctx) const noexcept { psl_free(ctx); }
    };
    static const std::unique_ptr<psl_ctx_st, Free> loaded = [] {
        psl_ctx_st* ctx = load_text_list();
        return std::unique_ptr<psl_ctx_st, Free>(ctx ? ctx : psl_latest(nullptr));
    }();
    return loaded ? loaded.get() : psl_builtin();
}

}  // namespace

RegistrableDomains::RegistrableDomains() : active_(shared_list()), memo_(memo_slots) {}

// psl_registrable_domain() walks a name's suffixes from the longest and stops
// at the first public suffix, answering the suffix one label longer. So the
// answer for label.parent is: none when the name is itself a public suffix,
// the name when its parent is one (libpsl has no answer for the parent then),
// else the parent's answer. Parents repeat (www.x.com, mail.x.com), so their
// answers are remembered: one suffix test per name instead of one per label.
std::string RegistrableDomains::of(std::string_view name) const {
    const std::string n(name);
    if (!active_) return n;
    const auto dot = name.find('.');
    const bool has_parent = dot != std::string_view::npos && dot + 1 < name.size();
    const std::string_view parent = has_parent ? name.substr(dot + 1) : std::string_view();
    Slot* slot = has_parent ? &memo_[std::hash<std::string_view>{}(parent) % memo_slots] : nullptr;
    if (slot) {
        std::unique_lock lock(memo_mutex_);
        if (slot->parent == parent) {
            std::string answer = slot->registrable;
            lock.unlock();
            if (psl_is_public_suffix(active_, n.c_str())) return n;
            return answer.empty() ? n : answer;
        }
    }
    const char* reg = psl_registrable_domain(active_, n.c_str());
    if (!reg) return n;  // a public suffix: says nothing of its parent
    std::string answer(reg);
    if (slot) {
        // What this answer says of the parent's (see above).
        std::lock_guard lock(memo_mutex_);
        memo_heap_bytes_ -= heap_bytes(slot->parent) + heap_bytes(slot->registrable);
        slot->parent.assign(parent);
        slot->registrable.assign(answer == n ? std::string_view() : std::string_view(answer));
        memo_heap_bytes_ += heap_bytes(slot->parent) + heap_bytes(slot->registrable);
    }
    return answer;
}

std::size_t RegistrableDomains::memory_bytes() const {
    std::lock_guard lock(memo_mutex_);
    return memo_.capacity() * sizeof(Slot) + memo_heap_bytes_;
}

}  // namespace fluxguard
