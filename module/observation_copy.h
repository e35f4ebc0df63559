// An upstream answer copied out of Unbound's memory, so it can be scored on
// another thread after the query has moved on. One allocation holds every
// name and rdata byte; view() is an fg_observation pointing into it.
// A value type: moving it keeps the view valid (the buffers do not move).
#pragma once

#include <cstdint>
#include <vector>

#include "fluxguard_abi.h"

namespace fluxguard {

class ObservationCopy {
public:
    explicit ObservationCopy(const fg_observation& from);

    const fg_observation& view() const { return view_; }
    // Heap bytes held (for the module's memory figure).
    std::size_t bytes() const { return data_.capacity() + records_.capacity() * sizeof(fg_rr); }

private:
    std::vector<std::uint8_t> data_;
    std::vector<fg_rr> records_;
    fg_observation view_{};
};

}  // namespace fluxguard
