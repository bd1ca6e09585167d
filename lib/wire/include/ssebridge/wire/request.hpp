// A client's request, and the Kafka record that carries it to a worker
// (DESIGN.md §1): built by the gateway, read by the worker libraries.
#pragma once

#include <ssebridge/wire/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::wire {

/// Checks the body of POST /v1/react/sessions: a JSON object with a
/// non-empty string `user_query`. `http_status` of the error gives 400/422.
result<void> check_session_request(std::string_view body);

/// A POST /v1/chat of the AI SDK profile (DESIGN.md §8), checked.
struct chat_request {
    std::string chat_id;     ///< its `id`: the client chooses it
    std::string user_query;  ///< the text parts of its last user message, joined
    std::string record_body; ///< the body verbatim, with `user_query` first unless it had one
};

/// True for a chat id: 1 to 128 of `[A-Za-z0-9._:-]` (it names Redis keys).
bool is_chat_id(std::string_view id) noexcept;

/// Checks the body `useChat` sends (`{id, messages, trigger, messageId}`):
/// a JSON object whose `id` is a chat id (1 to 128 of `[A-Za-z0-9._:-]`: it
/// names Redis keys) and whose `messages` end with a `user` message with
/// text (the `text` parts of its `parts`, or its `content` string).
/// Errors: those of `check_session_request` for the body itself,
/// `chat_id_invalid`, `chat_without_user_text` (422).
result<chat_request> check_chat_request(std::string_view body);

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), if any.
std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name) noexcept;

/// True for `application/json`, with any parameters and in any case.
bool is_json_media_type(std::string_view content_type) noexcept;
/// True when an `Accept` header names `text/event-stream` (with any
/// parameters, but not `q=0`): the client is an SSE client and reads `id:`
/// lines. Wildcards (`*/*`, fetch's default) do not count: such a client
/// gets the seed's frames.
bool accepts_event_stream(std::string_view accept) noexcept;

/// The Kafka record value for a session:
/// `{"session_id":"<id>","request":<body verbatim>}`. `session_id` must be
/// a session id (nothing to escape) and `body` a checked request.
std::string kafka_record(std::string_view session_id, std::string_view body);

/// One session's request, as a worker reads it from the record.
struct session_request {
    std::string session_id;
    std::string
        body; ///< the client's JSON object as it sent it (compact JSON from other producers)
    std::string user_query; ///< body.user_query when it is a string, for convenience
};

/// Reads a record value made by `kafka_record` (or by any producer that
/// follows the contract). Errors: `record_not_json`,
/// `record_without_session_id` (missing, or not 1 to 128 of `[A-Za-z0-9._:-]`:
/// the id names Redis keys), `record_without_request`.
result<session_request> parse_kafka_record(std::string_view value);

} // namespace ssebridge::wire
