#include <ssebridge/wire/token.hpp>

#include "hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <sys/random.h>

namespace ssebridge::wire {

namespace {

using mac = std::array<unsigned char, 32>;

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

template <std::size_t N>
std::string base64url(const std::array<unsigned char, N>& bytes) {
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (unsigned char b : bytes) {
        bits = (bits << 8) | b;
        count += 8;
        while (count >= 6) {
            count -= 6;
            out += alphabet[(bits >> count) & 0x3f];
        }
    }
    if (count > 0)
        out += alphabet[(bits << (6 - count)) & 0x3f];
    return out;
}

mac hmac(std::string_view secret, const std::string& input) {
    mac out{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(), &size);
    return out;
}

mac compute(std::string_view secret, std::string_view session_id, std::string_view scope,
            std::string_view expiry) {
    // Domain-separated and length-unambiguous: ids and scopes hold no newline.
    std::string input = "ssebridge-token-v1\n";
    input += session_id;
    input += '\n';
    input += scope;
    input += '\n';
    input += expiry;
    return hmac(secret, input);
}

// A cursor's MAC: 128 bits (22 characters) are plenty against online
// guessing, and every event of a POST stream carries one.
constexpr std::size_t cursor_mac_bytes = 16;

/// The first 128 bits of an HMAC-SHA256, as 22 base64url characters.
std::string short_mac(std::string_view secret, const std::string& input) {
    mac full = hmac(secret, input);
    std::array<unsigned char, cursor_mac_bytes> part{};
    std::copy_n(full.begin(), part.size(), part.begin());
    return base64url(part);
}

std::string cursor_mac(std::string_view secret, std::string_view session_id,
                       std::string_view body_sha256) {
    std::string input = "ssebridge-cursor-v1\n";
    input += session_id;
    input += '\n';
    input += body_sha256;
    return short_mac(secret, input);
}

} // namespace

std::string make_token(std::string_view secret, std::string_view session_id, std::string_view scope,
                       std::int64_t expires_unix) {
    std::string expiry = std::to_string(expires_unix);
    std::string out(scope);
    out += '.';
    out += expiry;
    out += '.';
    out += base64url(compute(secret, session_id, scope, expiry));
    return out;
}

result<void> check_token(std::string_view secret, std::string_view token,
                         std::string_view session_id, std::string_view scope,
                         std::int64_t now_unix) {
    std::size_t first = token.find('.');
    std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos)
        return error::token_malformed;
    std::string_view token_scope = token.substr(0, first);
    std::string_view expiry = token.substr(first + 1, second - first - 1);
    std::string_view given = token.substr(second + 1);
    std::int64_t expires = 0;
    auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires);
    if (ec != std::errc{} || end != expiry.data() + expiry.size() || given.size() != 43)
        return error::token_malformed;
    std::string expected = base64url(compute(secret, session_id, token_scope, expiry));
    bool same = CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
    if (!same || token_scope != scope)
        return error::token_invalid;
    if (now_unix >= expires)
        return error::token_expired;
    return {};
}

std::string cursor_suffix(std::string_view secret, std::string_view session_id,
                          std::string_view body_sha256) {
    std::string out = ".";
    out += session_id;
    out += '.';
    out += cursor_mac(secret, session_id, body_sha256);
    return out;
}

result<stream_cursor> check_cursor(std::string_view secret, std::string_view cursor,
                                   std::string_view body_sha256) {
    std::size_t first = cursor.find('.');
    std::size_t second = first == std::string_view::npos ? first : cursor.find('.', first + 1);
    if (second == std::string_view::npos)
        return error::cursor_malformed;
    std::optional<entry_id> at = entry_id::parse(cursor.substr(0, first));
    std::string_view session_id = cursor.substr(first + 1, second - first - 1);
    std::string_view given = cursor.substr(second + 1);
    constexpr std::size_t mac_chars = (cursor_mac_bytes * 8 + 5) / 6;
    if (!at || session_id.empty() || session_id.find('\n') != std::string_view::npos ||
        given.size() != mac_chars)
        return error::cursor_malformed;
    std::string expected = cursor_mac(secret, session_id, body_sha256);
    if (CRYPTO_memcmp(expected.data(), given.data(), expected.size()) != 0)
        return error::cursor_invalid;
    return stream_cursor{*at, std::string(session_id)};
}

std::string_view cursor_position(std::string_view cursor) noexcept {
    return cursor.substr(0, cursor.find('.'));
}

namespace {
template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
    std::array<unsigned char, N> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("getrandom failed");
    return bytes;
}
constexpr std::size_t chat_key_chars = 22; // 128 bits
} // namespace

std::string make_chat_key() {
    return base64url(random_bytes<16>());
}

bool is_chat_key(std::string_view key) noexcept {
    return key.size() == chat_key_chars && std::all_of(key.begin(), key.end(), [](char c) {
               return std::string_view(alphabet, sizeof alphabet - 1).find(c) !=
                      std::string_view::npos;
           });
}

std::string chat_owner(std::string_view secret, std::string_view chat_key) {
    return short_mac(secret, "ssebridge-chat-owner-v1\n" + std::string(chat_key));
}

std::string make_token_secret() {
    return detail::to_hex(random_bytes<32>());
}

} // namespace ssebridge::wire
