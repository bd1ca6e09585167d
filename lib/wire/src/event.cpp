#include <ssebridge/wire/event.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstring>

namespace ssebridge::wire {

namespace json = boost::json;

namespace {

// A validating SAX handler that builds nothing: it notes the top-level
// "event_type" and "id" when they are strings. Keys and values are compared
// while they stream by, in a small buffer: only a few values matter here.
struct event_finder {
    using error_code = boost::system::error_code;
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    // Collects a string that may arrive in parts; longer ones only count as "long".
    struct short_string {
        char text[48];
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

    enum class member : std::uint8_t { none, type, id };

    int depth = 0;
    bool top_is_object = false;
    member value_of = member::none; ///< the top-level member whose value is parsed now
    bool found_type = false;
    event_info info;
    short_string piece;

    void nested_value() { value_of = member::none; }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code&) {
        scalar();
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
        scalar();
        ++depth;
        return true;
    }
    bool on_object_end(std::size_t, error_code&) {
        --depth;
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        if (value_of != member::none)
            piece.add(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
        if (value_of == member::none)
            return true;
        piece.add(s);
        std::string_view t = piece.view();
        if (value_of == member::type) {
            found_type = true;
            if (t == event_type::worker_ack)
                info.kind = event_kind::ack;
            else if (t == event_type::final_answer_end)
                info.kind = event_kind::final;
            else if (t == event_type::cancelled)
                info.kind = event_kind::cancelled;
            else if (t == event_type::error)
                info.kind = event_kind::error;
        } else {
            info.id = entry_id::parse(t);
        }
        value_of = member::none;
        piece.size = 0;
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        if (depth == 1)
            piece.add(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&) {
        if (depth != 1)
            return true;
        piece.add(s);
        std::string_view k = piece.view();
        // A repeated key: the last one wins, as in a parsed object.
        if (k == "event_type") {
            value_of = member::type;
            found_type = false;
            info.kind = event_kind::other;
        } else if (k == "id") {
            value_of = member::id;
            info.id.reset();
        } else {
            value_of = member::none;
        }
        piece.size = 0;
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

    // A value that is not a string: event_type is then malformed, an id absent.
    bool scalar() {
        value_of = member::none;
        return true;
    }
};

// Canonical decimal only ("0", or no leading zero): the ids Redis gives out,
// so that an id reads back to the same text (found by fuzz/event.cpp).
bool parse_decimal(std::string_view text, std::uint64_t& out) noexcept {
    if (text.empty() || (text.size() > 1 && text[0] == '0'))
        return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

} // namespace

std::optional<entry_id> entry_id::parse(std::string_view text) noexcept {
    std::size_t dash = text.find('-');
    entry_id id;
    if (dash == std::string_view::npos || !parse_decimal(text.substr(0, dash), id.ms) ||
        !parse_decimal(text.substr(dash + 1), id.seq))
        return std::nullopt;
    return id;
}

std::string entry_id::to_string() const {
    std::string out = std::to_string(ms);
    out += '-';
    out += std::to_string(seq);
    return out;
}

result<event_info> inspect_event(std::string_view message) noexcept {
    json::basic_parser<event_finder> parser{json::parse_options{}};
    boost::system::error_code ec;
    std::size_t used = parser.write_some(false, message.data(), message.size(), ec);
    const event_finder& h = parser.handler();
    if (ec || used != message.size() || !parser.done() || !h.top_is_object)
        return error::event_not_json_object;
    if (!h.found_type)
        return error::event_without_type;
    return h.info;
}

result<std::string> event_message(std::string_view type, std::string_view payload_json) {
    boost::system::error_code ec;
    json::value payload = json::parse(payload_json, ec);
    if (ec)
        return error::payload_not_json;
    std::string out = R"({"event_type":)";
    out += json::serialize(json::string(type));
    out += R"(,"payload":)";
    out += json::serialize(payload); // compact: one line, whatever the input's layout
    out += '}';
    return out;
}

std::string_view code_name(end_code code) noexcept {
    switch (code) {
    case end_code::ack_timeout:
        return "ack_timeout";
    case end_code::idle_timeout:
        return "idle_timeout";
    case end_code::early_overflow:
        return "early_overflow";
    case end_code::backend_lost:
        return "backend_lost";
    case end_code::slow_client:
        return "slow_client";
    case end_code::write_timeout:
        return "write_timeout";
    case end_code::shutting_down:
        return "shutting_down";
    }
    return "unknown";
}

bool is_retryable(end_code code) noexcept {
    switch (code) {
    case end_code::backend_lost:
    case end_code::slow_client:
    case end_code::write_timeout:
    case end_code::shutting_down:
        return true;
    default:
        return false;
    }
}

std::string error_message(end_code code, std::string_view text) {
    std::string out = R"({"event_type":"error","payload":{"error":)";
    out += json::serialize(json::string(text));
    out += R"(,"code":")";
    out += code_name(code);
    out += R"(","retryable":)";
    out += is_retryable(code) ? "true" : "false";
    out += "}}";
    return out;
}

std::string reset_message(std::string_view reason) {
    std::string out = R"({"event_type":"reset","payload":{"reason":)";
    out += json::serialize(json::string(reason));
    out += "}}";
    return out;
}

} // namespace ssebridge::wire
