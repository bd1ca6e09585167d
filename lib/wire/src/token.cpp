#include <ssebridge/wire/token.hpp>

#include "hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <sys/random.h>

namespace ssebridge::wire {

namespace {

using mac = std::array<unsigned char, 32>;

mac compute(std::string_view secret, std::string_view session_id, std::string_view scope,
            std::string_view expiry) {
    // Domain-separated and length-unambiguous: ids and scopes hold no newline.
    std::string input = "ssebridge-token-v1\n";
    input += session_id;
    input += '\n';
    input += scope;
    input += '\n';
    input += expiry;
    mac out{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(), &size);
    return out;
}

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(const mac& bytes) {
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

std::string make_token_secret() {
    std::array<unsigned char, 32> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("getrandom failed");
    return detail::to_hex(bytes);
}

} // namespace ssebridge::wire
