// Domain names as the core sees them: lower-case presentation form without the
// trailing dot ("www.example.com"; "" is the root). Names come from attackers,
// so conversion from wire format validates and escapes instead of trusting.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fluxguard {

// Wire-format name (length-prefixed labels ending in a zero octet) to text.
// Bytes other than [a-z0-9-_] are written as \DDD, so two different wire
// names never map to one string. nullopt for malformed input (compression
// pointers, labels over 63 octets, names over 255 octets, missing terminator).
std::optional<std::string> name_from_wire(std::span<const std::uint8_t> wire);

// The inverse of name_from_wire (\DDD escapes included); nullopt when the
// text is not a valid name.
std::optional<std::vector<std::uint8_t>> name_to_wire(std::string_view text);

// Lower-cases and strips one trailing dot; rejects empty labels and names
// longer than 253 characters of text. Used for configuration and trace input.
std::optional<std::string> normalize_name(std::string_view text);

// True when `name` equals `domain` or lies below it ("a.b.c" is under "b.c").
bool is_at_or_below(std::string_view name, std::string_view domain);

// The parent of a name ("b.c" for "a.b.c", "" for a single label and root).
std::string_view parent_name(std::string_view name);

}  // namespace fluxguard
