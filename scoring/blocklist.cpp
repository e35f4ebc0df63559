#include "blocklist.h"

#include <mutex>

#include "dns_name.h"

namespace fluxguard {

bool Blocklist::add(Block block) {
    std::unique_lock lock(mutex_);
    auto [it, inserted] = blocks_.try_emplace(block.domain, std::move(block));
    size_.store(blocks_.size(), std::memory_order_relaxed);
    return inserted;
}

bool Blocklist::remove(std::string_view domain) {
    std::unique_lock lock(mutex_);
    auto it = blocks_.find(domain);
    if (it == blocks_.end()) return false;
    blocks_.erase(it);
    size_.store(blocks_.size(), std::memory_order_relaxed);
    return true;
}

std::optional<Block> Blocklist::covering(std::string_view name) const {
    if (size() == 0) return std::nullopt;
    std::shared_lock lock(mutex_);
    for (std::string_view n = name; !n.empty(); n = parent_name(n))
        if (auto it = blocks_.find(n); it != blocks_.end()) return it->second;
    return std::nullopt;
}

std::vector<Block> Blocklist::all() const {
    std::shared_lock lock(mutex_);
    std::vector<Block> out;
    for (const auto& [_, b] : blocks_) out.push_back(b);
    return out;
}

std::size_t Blocklist::memory_bytes() const {
    std::shared_lock lock(mutex_);
    std::size_t n = blocks_.bucket_count() * sizeof(void*);
    for (const auto& [domain, block] : blocks_)
        n += 2 * sizeof(void*) + sizeof(std::string) + sizeof(Block) + 2 * domain.size() +
             block.reason.size();
    return n;
}

}  // namespace fluxguard
