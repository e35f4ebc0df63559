// Distinct values with how many times each is held, kept as values come and
// go, so "how many distinct ASNs" costs nothing per answer. A flat vector
// whose first `Inline` entries sit inside the tally: a domain holds a handful
// of distinct values (a flux domain that holds hundreds is blocked soon
// after), so most tallies never touch the heap. Not thread-safe; lives inside
// a locked domain state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <absl/container/inlined_vector.h>

namespace fluxguard {

template <typename Value, std::size_t Inline = 4>
class Tally {
public:
    void add(const Value& value) {
        if (auto it = find(value); it != counts_.end()) {
            ++it->second;
            return;
        }
        counts_.emplace_back(value, 1);
    }
    void remove(const Value& value) {
        auto it = find(value);
        if (it == counts_.end()) return;
        if (--it->second == 0) {
            *it = counts_.back();
            counts_.pop_back();
        }
    }
    std::size_t distinct() const { return counts_.size(); }
    std::size_t heap_bytes() const {
        return counts_.capacity() > Inline ? counts_.capacity() * sizeof(counts_[0]) : 0;
    }
    std::size_t total() const {
        std::size_t n = 0;
        for (const auto& [_, count] : counts_) n += count;
        return n;
    }
    // Gini-Simpson index, 1 - sum(p^2): 0 when every value is the same one,
    // towards 1 when spread evenly over many. 1 when empty, so that missing
    // data never hides diversity found elsewhere.
    double spread() const {
        const auto known = static_cast<double>(total());
        if (known == 0) return 1.0;
        double sum = 0;
        for (const auto& [_, count] : counts_) {
            const double p = static_cast<double>(count) / known;
            sum += p * p;
        }
        return 1.0 - sum;
    }

private:
    auto find(const Value& value) {
        return std::find_if(counts_.begin(), counts_.end(),
                            [&](const auto& entry) { return entry.first == value; });
    }
    absl::InlinedVector<std::pair<Value, std::uint32_t>, Inline> counts_;
};

}  // namespace fluxguard
