// Expected failures of the wire contract's pure functions, as error codes.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace ssebridge::wire {

using boost::system::result;

/// Why a message of the contract was refused. `message()` is the text a
/// client or an operator reads; `http_status` maps request errors to §1.
enum class error {
    // POST /v1/react/sessions bodies
    empty_body = 1,
    body_not_json,
    body_not_object,
    user_query_missing,
    user_query_not_string,
    user_query_empty,
    // Kafka records
    record_not_json,
    record_without_session_id,
    record_without_request,
    // events on a session channel
    event_not_json_object,
    event_without_type,
    payload_not_json,
    // session tokens
    token_missing,
    token_malformed,
    token_invalid,
    token_expired,
    // resume cursors (Last-Event-ID on a POST)
    cursor_malformed,
    cursor_invalid,
    // sessions
    session_cancelled,
    // bodies and records: valid JSON, but a number no double holds (1e400)
    number_out_of_range,
    // POST /v1/chat bodies (the AI SDK profile)
    chat_id_invalid,
    chat_without_user_text,
    // sessions: its log holds its terminal event (sealed); nothing more is recorded
    session_ended,
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), category()};
}

/// The HTTP status of a request error (400, 422), a token error (401) or a
/// cursor error (400 malformed, 409 not this request's); 500 for other codes.
unsigned http_status(boost::system::error_code ec) noexcept;

} // namespace ssebridge::wire

template <>
struct boost::system::is_error_code_enum<ssebridge::wire::error> : std::true_type {};
