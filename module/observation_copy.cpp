#include "observation_copy.h"

#include <cstring>

namespace fluxguard {

namespace {

std::size_t record_bytes(const fg_rr* records, std::size_t count) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) n += records[i].owner_len + records[i].rdata_len;
    return n;
}

}  // namespace

ObservationCopy::ObservationCopy(const fg_observation& from) : view_(from) {
    data_.resize(from.qname_len + from.zone_len + record_bytes(from.answer, from.answer_count) +
                 record_bytes(from.delegation, from.delegation_count));
    records_.reserve(from.answer_count + from.delegation_count);
    std::uint8_t* out = data_.data();
    const auto keep = [&out](const std::uint8_t* bytes, std::size_t size) -> const std::uint8_t* {
        if (!bytes) return nullptr;
        if (size) std::memcpy(out, bytes, size);
        const std::uint8_t* at = out;
        out += size;
        return at;
    };
    view_.qname = keep(from.qname, from.qname_len);
    view_.zone = keep(from.zone, from.zone_len);
    const auto copy_records = [&](const fg_rr* records, std::size_t count) {
        const fg_rr* first = records_.data() + records_.size();
        for (std::size_t i = 0; i < count; ++i) {
            fg_rr rr = records[i];
            rr.owner = keep(rr.owner, rr.owner_len);
            rr.rdata = keep(rr.rdata, rr.rdata_len);
            records_.push_back(rr);
        }
        return first;
    };
    // reserve() above: push_back never reallocates, so `first` stays valid.
    view_.answer = copy_records(from.answer, from.answer_count);
    view_.delegation = copy_records(from.delegation, from.delegation_count);
}

}  // namespace fluxguard
