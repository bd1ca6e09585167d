// Session tokens (DESIGN.md §7): what a client shows to read or cancel a
// session it created. An HMAC-SHA256, under a secret every gateway of a
// deployment shares, over the session id, a scope and an expiry.
#pragma once

#include <ssebridge/wire/error.hpp>
#include <ssebridge/wire/event.hpp>

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

/// What follows the event id in the cursors a POST stream issues (its `id:`
/// lines are `<event id>.<session id>.<MAC>`): the session and a MAC, under
/// the token secret, over it and the sha256 (hex) of the request body. A
/// re-POST of that body with such a `Last-Event-ID` (an SSE client's retry)
/// resumes that session on any gateway of the deployment: possession proves
/// the client read that stream, and a cursor opens nothing for another body.
/// One per stream: every event's cursor is its id and this.
std::string cursor_suffix(std::string_view secret, std::string_view session_id,
                          std::string_view body_sha256);

/// A POST stream's cursor, read back.
struct stream_cursor {
    entry_id at;            ///< the last event the client has
    std::string session_id; ///< the session it resumes
};

/// Reads and checks a cursor for a request whose body has `body_sha256`,
/// comparing the MAC in constant time. Errors: `cursor_malformed` (not a
/// cursor of this form), `cursor_invalid` (another secret or body).
result<stream_cursor> check_cursor(std::string_view secret, std::string_view cursor,
                                   std::string_view body_sha256);

/// The event id of a cursor: the whole of a bare `<ms>-<seq>` (a GET's
/// `id:` lines), the part before the first `.` of a POST stream's.
std::string_view cursor_position(std::string_view cursor) noexcept;

/// A chat's key (the AI SDK profile, DESIGN.md §8): what the gateway gives a
/// browser in a cookie on its first chat, 128 random bits as 22 base64url
/// characters. The chats a browser starts are claimed with it: only a
/// request that shows the same key reads, cancels or continues them.
std::string make_chat_key();
/// True for what `make_chat_key` makes.
bool is_chat_key(std::string_view key) noexcept;
/// What a chat's record in Redis holds of its owner's key: an HMAC-SHA256
/// under the token secret, 128 bits as 22 base64url characters (so the
/// record alone opens nothing).
std::string chat_owner(std::string_view secret, std::string_view chat_key);

/// A fresh random secret (256 bits, hex), for a gateway given none.
std::string make_token_secret();

} // namespace ssebridge::wire
