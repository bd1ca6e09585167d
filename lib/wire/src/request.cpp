#include <ssebridge/wire/request.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

namespace ssebridge::wire {

namespace json = boost::json;

namespace {
// Boost.JSON reads 1e400 as infinity and would write it back as `Infinity`,
// which is not JSON (found by fuzz/kafka_record.cpp): such bodies are refused.
bool has_non_finite(const json::value& v) noexcept {
    switch (v.kind()) {
    case json::kind::double_:
        return !std::isfinite(v.get_double());
    case json::kind::array:
        return std::any_of(v.get_array().begin(), v.get_array().end(),
                           [](const json::value& e) { return has_non_finite(e); });
    case json::kind::object:
        return std::any_of(v.get_object().begin(), v.get_object().end(),
                           [](const json::key_value_pair& e) { return has_non_finite(e.value()); });
    default:
        return false;
    }
}

// What a session (or chat) id may be made of, whoever produced the record: it names
// Redis keys and channels, and goes back into JSON unescaped (found by
// fuzz/kafka_record.cpp). The gateway's ids are 32 hex digits.
bool is_channel_safe(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128)
        return false;
    for (char c : id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok)
            return false;
    }
    return true;
}
} // namespace

namespace {
/// A request body: a JSON object that a worker can read back as it was.
result<json::value> parse_body(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return error::empty_body;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec)
        return error::body_not_json;
    if (!v.is_object())
        return error::body_not_object;
    if (has_non_finite(v))
        return error::number_out_of_range;
    return v;
}

/// The text of a UI message: its `text` parts joined (ai ≥ 5), else its
/// `content` string (earlier versions).
std::string text_of(const json::object& message) {
    std::string text;
    if (const json::value* parts = message.if_contains("parts"); parts && parts->is_array()) {
        for (const json::value& part : parts->get_array()) {
            const json::object* o = part.if_object();
            const json::value* type = o ? o->if_contains("type") : nullptr;
            const json::value* t = o ? o->if_contains("text") : nullptr;
            if (type && type->is_string() && type->get_string() == "text" && t && t->is_string())
                text += t->get_string();
        }
        return text;
    }
    if (const json::value* content = message.if_contains("content");
        content && content->is_string())
        text = content->get_string();
    return text;
}
} // namespace

bool is_chat_id(std::string_view id) noexcept {
    return is_channel_safe(id); // it names the chat's Redis key
}

result<chat_request> check_chat_request(std::string_view body) {
    auto v = parse_body(body);
    if (!v)
        return v.error();
    const json::object& o = v->get_object();
    const json::value* id = o.if_contains("id");
    if (!id || !id->is_string() || !is_chat_id(id->get_string()))
        return error::chat_id_invalid;
    const json::value* messages = o.if_contains("messages");
    const json::array* list = messages ? messages->if_array() : nullptr;
    const json::object* last = nullptr;
    if (list)
        for (auto it = list->rbegin(); it != list->rend() && !last; ++it)
            if (const json::object* m = it->if_object()) {
                const json::value* role = m->if_contains("role");
                if (role && role->is_string() && role->get_string() == "user")
                    last = m;
            }
    chat_request r;
    r.chat_id = id->get_string();
    r.user_query = last ? text_of(*last) : std::string();
    if (r.user_query.empty())
        return error::chat_without_user_text;
    if (o.contains("user_query")) {
        r.record_body = body;
    } else {
        // The body verbatim after its `{`: a worker reads user_query as ever.
        std::size_t brace = body.find('{');
        r.record_body.reserve(body.size() + r.user_query.size() + 16);
        r.record_body.append(body.substr(0, brace + 1)).append(R"("user_query":)");
        r.record_body.append(json::serialize(json::value(r.user_query))).push_back(',');
        r.record_body.append(body.substr(brace + 1));
    }
    return r;
}

result<void> check_session_request(std::string_view body) {
    auto v = parse_body(body);
    if (!v)
        return v.error();
    const json::value* q = v->get_object().if_contains("user_query");
    if (!q)
        return error::user_query_missing;
    if (!q->is_string())
        return error::user_query_not_string;
    if (q->get_string().empty())
        return error::user_query_empty;
    return {};
}

namespace {

std::string_view trimmed(std::string_view text) noexcept {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    return text;
}

/// `text` is `lower` (given in lower case), ASCII case-insensitively.
bool is_named(std::string_view text, std::string_view lower) noexcept {
    return text.size() == lower.size() &&
           std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

/// The media type of a `Content-Type` or of one `Accept` element, without
/// its parameters.
std::string_view media_type(std::string_view element) noexcept {
    return trimmed(element.substr(0, element.find(';')));
}

/// True when the parameters of an `Accept` element say `q=0` (not acceptable).
bool refused_by_weight(std::string_view element) noexcept {
    for (std::size_t at = element.find(';'); at != std::string_view::npos;) {
        std::size_t next = element.find(';', at + 1);
        std::string_view parameter = trimmed(element.substr(at + 1, next - at - 1));
        if (parameter.size() >= 2 && (parameter[0] == 'q' || parameter[0] == 'Q') &&
            parameter[1] == '=') {
            std::string_view weight = trimmed(parameter.substr(2));
            return !weight.empty() && weight.find_first_not_of("0.") == std::string_view::npos;
        }
        at = next;
    }
    return false;
}

} // namespace

bool is_json_media_type(std::string_view content_type) noexcept {
    return is_named(media_type(content_type), "application/json");
}

bool accepts_event_stream(std::string_view accept) noexcept {
    while (!accept.empty()) {
        std::size_t comma = accept.find(',');
        std::string_view element = accept.substr(0, comma);
        if (is_named(media_type(element), "text/event-stream") && !refused_by_weight(element))
            return true;
        if (comma == std::string_view::npos)
            break;
        accept.remove_prefix(comma + 1);
    }
    return false;
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

namespace {
// The body as the client sent it, when the record is laid out as
// kafka_record lays it out: a worker sees the client's bytes, not Boost.JSON
// 1.81's rewriting of them (its doubles do not round-trip exactly, found by
// fuzz/kafka_record.cpp).
std::optional<std::string> raw_request(std::string_view record, std::string_view id) {
    constexpr std::string_view before_id = R"({"session_id":")";
    constexpr std::string_view before_body = R"(","request":)";
    if (!record.starts_with(before_id) || !record.ends_with('}'))
        return std::nullopt;
    record.remove_prefix(before_id.size());
    if (!record.starts_with(id))
        return std::nullopt;
    record.remove_prefix(id.size());
    if (!record.starts_with(before_body))
        return std::nullopt;
    record.remove_prefix(before_body.size());
    record.remove_suffix(1);
    boost::system::error_code ec;
    json::parse(record, ec); // one value, not `{…},"request":{…}` of a repeated key
    if (ec)
        return std::nullopt;
    return std::string(record);
}

} // namespace

result<session_request> parse_kafka_record(std::string_view value) {
    boost::system::error_code ec;
    json::value v = json::parse(value, ec);
    if (ec)
        return error::record_not_json;
    const json::object* record = v.if_object();
    const json::value* id = record ? record->if_contains("session_id") : nullptr;
    const json::value* body = record ? record->if_contains("request") : nullptr;
    if (!id || !id->is_string() || !is_channel_safe(id->get_string()))
        return error::record_without_session_id;
    if (!body || !body->is_object())
        return error::record_without_request;
    if (has_non_finite(*body))
        return error::number_out_of_range;
    session_request r;
    r.session_id = id->get_string();
    r.body = raw_request(value, r.session_id).value_or(json::serialize(*body));
    if (const json::value* q = body->get_object().if_contains("user_query"); q && q->is_string())
        r.user_query = q->get_string();
    return r;
}

std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name) noexcept {
    while (!cookie_header.empty()) {
        std::size_t end = cookie_header.find(';');
        std::string_view pair = trimmed(cookie_header.substr(0, end));
        std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && trimmed(pair.substr(0, eq)) == name)
            return trimmed(pair.substr(eq + 1));
        if (end == std::string_view::npos)
            break;
        cookie_header.remove_prefix(end + 1);
    }
    return std::nullopt;
}

} // namespace ssebridge::wire
