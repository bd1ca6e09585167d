// What the gateway reads from a worker's message, and the frames it writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::gateway::detail {

enum class event_kind : std::uint8_t { other, ack, final };

/// Checks that `payload` is a JSON object whose `event_type` is a string,
/// without building it (a validating SAX pass), and says which kind of event
/// it is. Returns nullopt for a malformed message (not JSON, not an object,
/// no string `event_type`).
std::optional<event_kind> inspect_event(std::string_view payload);

/// Appends the SSE frame of a valid event to `out`: the bytes verbatim when
/// they hold no line break, otherwise re-serialised compactly onto one line.
void append_event_frame(std::string& out, std::string_view payload);

/// The frame of an `error` event with `reason`.
std::string error_frame(std::string_view reason);

/// Why a request body cannot start a session: an HTTP status and a reason.
struct rejection {
    unsigned status;
    std::string reason;
};

/// Checks the body of POST /v1/react/sessions (400 / 422 of the contract).
std::optional<rejection> check_session_request(std::string_view body);

/// True for `application/json`, with any parameters and in any case.
bool is_json_media_type(std::string_view content_type);

/// The Kafka record for a session: `{"session_id":…,"request":<body verbatim>}`.
std::string kafka_record(std::string_view session_id, std::string_view body);

} // namespace ssebridge::gateway::detail
