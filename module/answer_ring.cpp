#include "answer_ring.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace fluxguard {

// An entry's header; its records and then its bytes follow it.
struct AnswerRing::Entry {
    std::atomic<std::uint32_t> published{0};  // 1 once the writer has copied it all
    std::uint32_t size = 0;                   // bytes, header included
    bool skip = false;                        // filler up to the end of the ring
    fg_observation view{};
};

namespace {

constexpr std::size_t align = alignof(std::max_align_t);

constexpr std::size_t round_up(std::size_t n) { return (n + align - 1) / align * align; }

std::size_t record_bytes(const fg_rr* records, std::size_t count) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) n += records[i].owner_len + records[i].rdata_len;
    return n;
}

// The ring is mapped, not allocated: its pages stay untouched until an answer
// needs them, and sanitizers do not write shadow memory for all of it (a
// fuzz target that makes an engine per input ran at a third of its speed).
std::byte* map_ring(std::size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<std::byte*>(p);
}

}  // namespace

void AnswerRing::Unmap::operator()(std::byte* bytes) const noexcept { munmap(bytes, size); }

AnswerRing::AnswerRing(std::size_t capacity_bytes)
    : capacity_(round_up(std::max(capacity_bytes, 4 * sizeof(Entry)))),
      bytes_(map_ring(capacity_), Unmap{capacity_}) {}

std::size_t AnswerRing::entry_bytes(const fg_observation& obs) {
    const std::size_t records = obs.answer_count + obs.delegation_count;
    return round_up(sizeof(Entry) + records * sizeof(fg_rr) + obs.qname_len + obs.zone_len +
                    record_bytes(obs.answer, obs.answer_count) +
                    record_bytes(obs.delegation, obs.delegation_count));
}

AnswerRing::Entry* AnswerRing::entry_at(std::size_t count) const {
    return std::launder(reinterpret_cast<Entry*>(bytes_.get() + count % capacity_));
}

std::size_t AnswerRing::past_gap(std::size_t count) const {
    const std::size_t left = capacity_ - count % capacity_;
    return left < sizeof(Entry) ? count + left : count;
}

bool AnswerRing::first_published() const {
    return head_ != tail_ &&
           entry_at(past_gap(head_))->published.load(std::memory_order_seq_cst) != 0;
}

bool AnswerRing::push(const fg_observation& obs) {
    const std::size_t size = entry_bytes(obs);
    if (size > capacity_ / 4) return false;
    Entry* entry = nullptr;
    {
        const std::lock_guard lock(mutex_);
        if (closed_) return false;
        const std::size_t at = tail_ % capacity_;
        // An entry is never split: it starts over at the beginning instead,
        // behind a filler entry (or a gap too small for one, which both
        // sides skip by the same rule, past_gap()).
        const std::size_t filler = capacity_ - at < size ? capacity_ - at : 0;
        if (tail_ - head_ + filler + size > capacity_) return false;
        if (filler >= sizeof(Entry)) {
            Entry* skip = new (bytes_.get() + at) Entry;
            skip->size = static_cast<std::uint32_t>(filler);
            skip->skip = true;
            skip->published.store(1, std::memory_order_relaxed);
        }
        tail_ += filler;
        entry = new (bytes_.get() + tail_ % capacity_) Entry;
        entry->size = static_cast<std::uint32_t>(size);
        touched_ = std::max(touched_, tail_ % capacity_ + size);
        tail_ += size;
        ++queued_;
    }

    // The copy, outside the lock: other workers reserve meanwhile.
    fg_rr* records = reinterpret_cast<fg_rr*>(reinterpret_cast<std::byte*>(entry) + sizeof(Entry));
    auto* out = reinterpret_cast<std::uint8_t*>(records + obs.answer_count + obs.delegation_count);
    const auto keep = [&out](const std::uint8_t* bytes, std::size_t n) -> const std::uint8_t* {
        if (!bytes) return nullptr;
        if (n) std::memcpy(out, bytes, n);
        const std::uint8_t* copied = out;
        out += n;
        return copied;
    };
    const auto copy_records = [&](const fg_rr* from, std::size_t count) {
        fg_rr* first = records;
        for (std::size_t i = 0; i < count; ++i, ++records) {
            *records = from[i];
            records->owner = keep(from[i].owner, from[i].owner_len);
            records->rdata = keep(from[i].rdata, from[i].rdata_len);
        }
        return first;
    };
    fg_observation& view = entry->view;
    view = obs;
    view.qname = keep(obs.qname, obs.qname_len);
    view.zone = keep(obs.zone, obs.zone_len);
    view.answer = copy_records(obs.answer, obs.answer_count);
    view.delegation = copy_records(obs.delegation, obs.delegation_count);

    // Publish, then wake a sleeping consumer. Both sides use sequentially
    // consistent operations on `published` and `waiting_`, so either the
    // consumer sees this entry before it sleeps or we see it waiting; the
    // empty critical section makes sure it is asleep (or has not yet checked)
    // when notified, so the wake is not lost.
    entry->published.store(1, std::memory_order_seq_cst);
    if (waiting_.load(std::memory_order_seq_cst)) {
        { const std::lock_guard lock(mutex_); }
        ready_.notify_one();
    }
    return true;
}

std::size_t AnswerRing::consume(const std::function<void(const fg_observation&)>& visit,
                                std::size_t max, std::chrono::milliseconds wait) {
    std::size_t head = 0;
    std::size_t tail = 0;
    {
        std::unique_lock lock(mutex_);
        if (wait.count() > 0 && !closed_ && !first_published()) {
            waiting_.store(true, std::memory_order_seq_cst);
            ready_.wait_for(lock, wait, [&] { return closed_ || first_published(); });
            waiting_.store(false, std::memory_order_seq_cst);
        }
        head = head_;
        tail = tail_;
    }
    std::size_t visited = 0;
    std::size_t at = head;
    while (at != tail && visited < max) {
        at = past_gap(at);
        const Entry* entry = entry_at(at);
        if (entry->published.load(std::memory_order_acquire) == 0) break;
        if (!entry->skip) {
            visit(entry->view);
            ++visited;
        }
        at += entry->size;
    }
    if (at != head) {
        const std::lock_guard lock(mutex_);
        head_ = at;
        queued_ -= visited;
        // Caught up: start again at the beginning, where the pages are warm.
        if (head_ == tail_) head_ = tail_ = 0;
    }
    return visited;
}

void AnswerRing::close() {
    {
        const std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

bool AnswerRing::closed() const {
    const std::lock_guard lock(mutex_);
    return closed_;
}

std::size_t AnswerRing::queued() const {
    const std::lock_guard lock(mutex_);
    return queued_;
}

std::size_t AnswerRing::touched_bytes() const {
    const std::lock_guard lock(mutex_);
    return touched_;
}

}  // namespace fluxguard
