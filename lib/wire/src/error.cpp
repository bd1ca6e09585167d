#include <ssebridge/wire/error.hpp>

#include <string>

namespace ssebridge::wire {

namespace {
class error_category final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "ssebridge.wire"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::empty_body:
            return "request body is empty";
        case error::body_not_json:
            return "request body is not valid JSON";
        case error::body_not_object:
            return "request body must be a JSON object";
        case error::user_query_missing:
            return "user_query is required";
        case error::user_query_not_string:
            return "user_query must be a string";
        case error::user_query_empty:
            return "user_query must not be empty";
        case error::record_not_json:
            return "record is not JSON";
        case error::record_without_session_id:
            return "record has no session_id of 1 to 128 letters, digits and -_.:";
        case error::record_without_request:
            return "record has no request object";
        case error::event_not_json_object:
            return "event is not a JSON object";
        case error::event_without_type:
            return "event has no event_type string";
        case error::payload_not_json:
            return "payload is not valid JSON";
        case error::token_missing:
            return "a session token is required (Authorization: Bearer … or ?token=)";
        case error::token_malformed:
            return "the session token is malformed";
        case error::token_invalid:
            return "the session token is not valid for this session";
        case error::token_expired:
            return "the session token has expired";
        case error::cursor_malformed:
            return "Last-Event-ID is not a cursor this gateway issues "
                   "(<event id>.<session id>.<MAC>, the id: lines of a POST stream)";
        case error::cursor_invalid:
            return "Last-Event-ID is a cursor of another request (another body, or another "
                   "deployment's): it resumes only the POST whose stream issued it; send this "
                   "POST without it to start a session";
        case error::session_cancelled:
            return "the session was cancelled";
        case error::session_ended:
            return "the session has ended: its log holds its terminal event";
        case error::number_out_of_range:
            return "a number is beyond the range of a double";
        case error::chat_id_invalid:
            return "id must be the chat's id: 1 to 128 letters, digits and -_.:";
        case error::chat_without_user_text:
            return "messages must end with a user message that has text";
        }
        return "unknown wire error";
    }
};
} // namespace

const boost::system::error_category& category() noexcept {
    static const error_category instance;
    return instance;
}

unsigned http_status(boost::system::error_code ec) noexcept {
    if (ec.category() != category())
        return 500;
    switch (static_cast<error>(ec.value())) {
    case error::empty_body:
    case error::body_not_json:
    case error::cursor_malformed:
        return 400;
    case error::cursor_invalid:
        return 409;
    case error::body_not_object:
    case error::user_query_missing:
    case error::user_query_not_string:
    case error::user_query_empty:
    case error::number_out_of_range:
    case error::chat_id_invalid:
    case error::chat_without_user_text:
        return 422;
    case error::token_missing:
    case error::token_malformed:
    case error::token_invalid:
    case error::token_expired:
        return 401;
    default:
        return 500;
    }
}

} // namespace ssebridge::wire
