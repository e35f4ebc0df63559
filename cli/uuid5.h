// Name-based UUIDs (RFC 9562 version 5, SHA-1), so that exporting the same
// indicator twice gives it the same STIX id.
// Pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fluxguard::cli {

using Uuid = std::array<std::uint8_t, 16>;

// "6ba7b811-9dad-11d1-80b4-00c04fd430c8" -> bytes; nullopt when malformed.
std::optional<Uuid> parse_uuid(std::string_view text);
std::string to_string(const Uuid& uuid);
Uuid uuid5(const Uuid& name_space, std::string_view name);

// RFC 9562's namespace for URLs; fluxguard's own is uuid5 of it and
// "urn:fluxguard:stix" (cli/README.md), so anyone can recompute an id.
inline constexpr std::string_view kUrlNamespace = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";
Uuid fluxguard_namespace();

}  // namespace fluxguard::cli
