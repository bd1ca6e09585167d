// The HTTP half of the wire contract (DESIGN.md §1, §7): routes, header
// names and query parameters, in one place. The Redis and Kafka half is in
// names.hpp and record.hpp.
#pragma once

#include <cstddef>
#include <string_view>

namespace ssebridge::wire::http {

/// The routes, as `http::server::route` patterns (`*`: one path segment).
inline constexpr std::string_view sessions_route = "/v1/react/sessions";
inline constexpr std::string_view events_route = "/v1/react/sessions/*/events";
inline constexpr std::string_view cancel_route = "/v1/react/sessions/*/cancel";
/// The path segment of `/v1/react/sessions/{id}/…` that holds the id.
inline constexpr std::size_t session_id_segment = 3;

/// The AI SDK profile (DESIGN.md §8): `useChat` POSTs to the first, resumes
/// on the second (its default: `{api}/{chatId}/stream`); Stop cancels on the
/// third. The chat id is the path segment `chat_id_segment`.
inline constexpr std::string_view chat_route = "/v1/chat";
inline constexpr std::string_view chat_stream_route = "/v1/chat/*/stream";
inline constexpr std::string_view chat_cancel_route = "/v1/chat/*/cancel";
inline constexpr std::size_t chat_id_segment = 2;
/// The cookie that holds the browser's chat key (`wire::make_chat_key`).
inline constexpr std::string_view chat_cookie = "ssebridge_chat";

/// The stream's headers: which session it is, and the token that opens it.
inline constexpr std::string_view session_id_header = "X-Session-Id";
inline constexpr std::string_view session_token_header = "X-Session-Token";

/// A POST's key that makes its retries one session.
inline constexpr std::string_view idempotency_key_header = "Idempotency-Key";

/// Where a reader's resume cursor comes from: the header an `EventSource`
/// sends when it reconnects, else the query parameter of a first connection.
inline constexpr std::string_view cursor_header = "Last-Event-ID";
inline constexpr std::string_view cursor_parameter = "last_event_id";

/// Where a session token comes from: `Authorization: Bearer <token>`, else
/// the query parameter (an `EventSource` cannot set headers).
inline constexpr std::string_view token_header = "Authorization";
inline constexpr std::string_view token_scheme = "Bearer ";
inline constexpr std::string_view token_parameter = "token";

/// CORS: the request headers a page of another origin may send, and the
/// response headers it may read.
inline constexpr std::string_view cross_origin_request_headers =
    "Content-Type, Authorization, Idempotency-Key, Last-Event-ID";
inline constexpr std::string_view cross_origin_exposed_headers = "X-Session-Id, X-Session-Token";

} // namespace ssebridge::wire::http
