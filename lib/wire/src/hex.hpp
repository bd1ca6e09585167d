// Lowercase hex of bytes: digests, secrets, ids.
#pragma once

#include <span>
#include <string>

namespace ssebridge::wire::detail {

inline std::string to_hex(std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

} // namespace ssebridge::wire::detail
