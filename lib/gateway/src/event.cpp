#include <ssebridge/gateway/detail/event.hpp>

#include <ssebridge/sse/encode.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ssebridge::gateway::detail {

namespace json = boost::json;

namespace {

// A validating SAX handler that builds nothing: it only notes the top-level
// "event_type" when it is a string. Keys and values are compared while they
// stream by, in a small buffer: only two event types matter to the gateway.
struct event_type_finder {
    using error_code = boost::system::error_code;
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    // Collects a string that may arrive in parts; longer ones only count as "long".
    struct short_string {
        char text[24];
        std::size_t size = 0;
        void add(json::string_view part) {
            if (size + part.size() <= sizeof text)
                std::memcpy(text + size, part.data(), part.size());
            size += part.size();
        }
        [[nodiscard]] std::string_view view() const {
            return size <= sizeof text ? std::string_view(text, size) : std::string_view();
        }
    };

    int depth = 0;
    bool top_is_object = false;
    bool value_is_event_type = false; ///< the value now parsed belongs to top-level event_type
    bool found = false;
    event_kind kind = event_kind::other;
    short_string piece;

    void nested_value() { value_is_event_type = false; }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code&) {
        nested_value();
        ++depth;
        return true;
    }
    bool on_array_end(std::size_t, error_code&) {
        --depth;
        return true;
    }
    bool on_object_begin(error_code&) {
        if (depth == 0)
            top_is_object = true;
        nested_value();
        ++depth;
        return true;
    }
    bool on_object_end(std::size_t, error_code&) {
        --depth;
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        if (value_is_event_type)
            piece.add(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
        if (value_is_event_type) {
            piece.add(s);
            found = true;
            std::string_view t = piece.view();
            if (t == "worker_ack")
                kind = event_kind::ack;
            else if (t == "FinalAnswerStreamEnd")
                kind = event_kind::final;
            value_is_event_type = false;
            piece.size = 0;
        }
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        if (depth == 1)
            piece.add(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&) {
        if (depth == 1) {
            piece.add(s);
            // A repeated key: the last one wins, as in a parsed object.
            value_is_event_type = piece.view() == "event_type";
            if (value_is_event_type) {
                found = false;
                kind = event_kind::other;
            }
            piece.size = 0;
        }
        return true;
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, error_code&) { return scalar(); }
    bool on_uint64(std::uint64_t, json::string_view, error_code&) { return scalar(); }
    bool on_double(double, json::string_view, error_code&) { return scalar(); }
    bool on_bool(bool, error_code&) { return scalar(); }
    bool on_null(error_code&) { return scalar(); }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }

    bool scalar() {
        if (value_is_event_type) { // event_type is not a string: malformed
            found = false;
            value_is_event_type = false;
        }
        return true;
    }
};

} // namespace

std::optional<event_kind> inspect_event(std::string_view payload) {
    json::basic_parser<event_type_finder> parser{json::parse_options{}};
    boost::system::error_code ec;
    std::size_t used = parser.write_some(false, payload.data(), payload.size(), ec);
    const event_type_finder& h = parser.handler();
    if (ec || used != payload.size() || !parser.done() || !h.top_is_object || !h.found)
        return std::nullopt;
    return h.kind;
}

void append_event_frame(std::string& out, std::string_view payload) {
    if (sse::find_line_break(payload) == std::string_view::npos) {
        sse::append_data_frame(out, payload);
        return;
    }
    // Line breaks can only be whitespace between tokens of valid JSON:
    // re-serialised, the event fits on one line.
    sse::append_data_frame(out, json::serialize(json::parse(payload)));
}

std::string error_frame(std::string_view reason) {
    std::string json = R"({"event_type":"error","payload":{"error":)";
    json += json::serialize(json::string(reason));
    json += "}}";
    return sse::data_frame(json);
}

std::optional<rejection> check_session_request(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return rejection{400, "request body is empty"};
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec)
        return rejection{400, "request body is not valid JSON: " + ec.message()};
    if (!v.is_object())
        return rejection{422, "request body must be a JSON object"};
    const json::value* q = v.get_object().if_contains("user_query");
    if (!q)
        return rejection{422, "user_query is required"};
    if (!q->is_string())
        return rejection{422, "user_query must be a string"};
    if (q->get_string().empty())
        return rejection{422, "user_query must not be empty"};
    return std::nullopt;
}

bool is_json_media_type(std::string_view content_type) {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back())))
        media.remove_suffix(1);
    while (!media.empty() && std::isspace(static_cast<unsigned char>(media.front())))
        media.remove_prefix(1);
    constexpr std::string_view expected = "application/json";
    return media.size() == expected.size() &&
           std::equal(media.begin(), media.end(), expected.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

std::string kafka_record(std::string_view session_id, std::string_view body) {
    std::string out;
    out.reserve(body.size() + session_id.size() + 32);
    out += R"({"session_id":")";
    out += session_id; // hex digits: nothing to escape
    out += R"(","request":)";
    out += body;
    out += '}';
    return out;
}

} // namespace ssebridge::gateway::detail
