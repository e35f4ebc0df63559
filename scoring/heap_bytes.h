// Heap bytes held by containers beyond their inline storage, for the memory
// estimates that bound the scorer's state (max-domains, the pools, memos).
#pragma once

#include <cstddef>
#include <string>

#include <absl/container/inlined_vector.h>

namespace fluxguard {

// A string's heap buffer; none while it fits the small-string buffer.
inline std::size_t heap_bytes(const std::string& text) {
    static const std::size_t inline_capacity = std::string().capacity();
    return text.capacity() > inline_capacity ? text.capacity() + 1 : 0;
}

// An InlinedVector's heap buffer; none while it fits its N inline elements.
template <typename T, std::size_t N>
std::size_t heap_bytes(const absl::InlinedVector<T, N>& v) {
    return v.capacity() > N ? v.capacity() * sizeof(T) : 0;
}

}  // namespace fluxguard
