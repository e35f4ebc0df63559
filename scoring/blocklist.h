// The domains currently blocked, consulted at the start of every query and
// for every name of a CNAME chain. Many readers (resolver threads), rare
// writers (a new verdict): a shared_mutex, and an atomic count so the common
// case, nothing blocked, costs one load.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fluxguard {

struct Block {
    std::string domain;
    std::string reason;  // short, for the EDE text and logs
    double score = 0;
    std::int64_t since = 0;
};

class Blocklist {
public:
    // False when the domain was already blocked.
    bool add(Block block);
    bool remove(std::string_view domain);
    // The block covering `name` (the name itself or any parent), if any.
    std::optional<Block> covering(std::string_view name) const;
    std::size_t size() const { return size_.load(std::memory_order_relaxed); }
    std::vector<Block> all() const;
    // Heap bytes, estimated.
    std::size_t memory_bytes() const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, Block, Hash, std::equal_to<>> blocks_;
    std::atomic<std::size_t> size_{0};
};

}  // namespace fluxguard
