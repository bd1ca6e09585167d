#include <ssebridge/wire/names.hpp>

#include "hex.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <sys/random.h>

namespace ssebridge::wire {

namespace {
constexpr std::size_t id_bytes = 16;
constexpr std::string_view channel_prefix = "sse_session:";

std::string tagged(std::string_view prefix, std::string_view session_id) {
    std::string out;
    out.reserve(prefix.size() + channel_prefix.size() + session_id.size() + 2);
    out += prefix;
    out += '{';
    out += channel_prefix;
    out += session_id;
    out += '}';
    return out;
}
} // namespace

std::string make_session_id() {
    // One getrandom call serves 256 ids.
    thread_local std::array<unsigned char, 4096> pool;
    thread_local std::size_t used = pool.size();
    if (used == pool.size()) {
        std::size_t filled = 0;
        while (filled < pool.size()) {
            ssize_t n = ::getrandom(pool.data() + filled, pool.size() - filled, 0);
            if (n < 0)
                throw std::runtime_error("getrandom failed");
            filled += static_cast<std::size_t>(n);
        }
        used = 0;
    }
    std::string id = detail::to_hex(std::span<const unsigned char>(pool.data() + used, id_bytes));
    std::fill_n(pool.begin() + static_cast<std::ptrdiff_t>(used), id_bytes, 0); // used secrets go
    used += id_bytes;
    return id;
}

bool is_session_id(std::string_view id) noexcept {
    if (id.size() != 2 * id_bytes)
        return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

std::string session_channel(std::string_view session_id) {
    std::string out;
    out.reserve(channel_prefix.size() + session_id.size());
    out += channel_prefix;
    out += session_id;
    return out;
}

std::string log_key(std::string_view session_id) {
    return tagged("sse_log:", session_id);
}
std::string cancel_key(std::string_view session_id) {
    return tagged("sse_cancel:", session_id);
}
std::string control_channel(std::string_view session_id) {
    return tagged("sse_control:", session_id);
}

std::string idempotency_key(std::string_view client_key, std::string_view scope) {
    std::string out = "sse_idem:{";
    // A header value holds no line feed: "scope\nkey" reads one way only.
    out += scope.empty() ? sha256_hex(client_key)
                         : sha256_hex(std::string(scope) + '\n' + std::string(client_key));
    out += '}';
    return out;
}

bool is_idempotency_key(std::string_view client_key) noexcept {
    if (client_key.empty() || client_key.size() > 255)
        return false;
    for (char c : client_key)
        if (c < 0x21 || c > 0x7e)
            return false;
    return true;
}

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
    return detail::to_hex(digest);
}

std::string chat_key(std::string_view chat_id) {
    return "sse_chat:{" + std::string(chat_id) + "}";
}

} // namespace ssebridge::wire
