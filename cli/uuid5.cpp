#include "uuid5.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace fluxguard::cli {

std::optional<Uuid> parse_uuid(std::string_view text) {
    Uuid out{};
    std::size_t n = 0;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (text.size() != 36) return std::nullopt;
    for (std::size_t i = 0; i < text.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return std::nullopt;
            ++i;
            continue;
        }
        const int hi = hex(text[i]), lo = hex(text[i + 1]);
        if (hi < 0 || lo < 0 || n >= 16) return std::nullopt;
        out[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
    }
    if (n != 16) return std::nullopt;
    return out;
}

std::string to_string(const Uuid& u) {
    std::string s;
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += fmt::format("{:02x}", u[i]);
    }
    return s;
}

Uuid uuid5(const Uuid& name_space, std::string_view name) {
    struct Free {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> ctx(EVP_MD_CTX_new());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), name_space.data(), name_space.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), name.data(), name.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1 || length < 16)
        throw std::runtime_error("SHA-1 is not available from OpenSSL");
    Uuid out{};
    for (std::size_t i = 0; i < 16; ++i) out[i] = digest[i];
    out[6] = static_cast<std::uint8_t>((out[6] & 0x0F) | 0x50);  // version 5
    out[8] = static_cast<std::uint8_t>((out[8] & 0x3F) | 0x80);  // RFC variant
    return out;
}

Uuid fluxguard_namespace() {
    static const Uuid ns = uuid5(*parse_uuid(kUrlNamespace), "urn:fluxguard:stix");
    return ns;
}

}  // namespace fluxguard::cli
