// Session tokens as a client may send them. Properties: nothing but a token
// made with the secret for this session and scope, unexpired, is accepted;
// a made token is accepted.
#include <ssebridge/wire/token.hpp>

#include <cstdint>
#include <cstdlib>

using namespace ssebridge::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::string_view secret = "fuzz-secret";
    constexpr std::string_view session = "0123456789abcdef0123456789abcdef";
    constexpr std::int64_t now = 1'800'000'000;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto checked = check_token(secret, in, session, session_scope, now);
    if (checked) {
        // Accepted: it must be exactly what the gateway would have made.
        auto dot = in.find('.');
        auto second = in.find('.', dot + 1);
        std::int64_t expiry =
            std::strtoll(std::string(in.substr(dot + 1, second - dot - 1)).c_str(), nullptr, 10);
        if (make_token(secret, session, session_scope, expiry) != in || expiry < now)
            std::abort();
    }
    std::string made = make_token(secret, session, session_scope, now + 60);
    if (!check_token(secret, made, session, session_scope, now))
        std::abort();
    return 0;
}
