// Session tokens (DESIGN.md §7): what a client shows to read or cancel a
// session it created. An HMAC-SHA256, under a secret every gateway of a
// deployment shares, over the session id, a scope and an expiry.
#pragma once

#include <ssebridge/wire/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::wire {

/// What a token allows. `session`: read the session's events and cancel it.
inline constexpr std::string_view session_scope = "session";

/// `<scope>.<expiry, unix seconds>.<base64url HMAC-SHA256>`: URL-safe, so it
/// can travel as `?token=` (EventSource cannot set headers).
std::string make_token(std::string_view secret, std::string_view session_id, std::string_view scope,
                       std::int64_t expires_unix);

/// Checks `token` for `session_id` and `scope` at `now_unix`, comparing the
/// MAC in constant time. Errors: `token_malformed`, `token_invalid` (another
/// secret, session or scope), `token_expired`.
result<void> check_token(std::string_view secret, std::string_view token,
                         std::string_view session_id, std::string_view scope,
                         std::int64_t now_unix);

/// A fresh random secret (256 bits, hex), for a gateway given none.
std::string make_token_secret();

} // namespace ssebridge::wire
