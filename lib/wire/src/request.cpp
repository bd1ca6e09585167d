#include <ssebridge/wire/request.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace ssebridge::wire {

namespace json = boost::json;

result<void> check_session_request(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return error::empty_body;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec)
        return error::body_not_json;
    if (!v.is_object())
        return error::body_not_object;
    const json::value* q = v.get_object().if_contains("user_query");
    if (!q)
        return error::user_query_missing;
    if (!q->is_string())
        return error::user_query_not_string;
    if (q->get_string().empty())
        return error::user_query_empty;
    return {};
}

bool is_json_media_type(std::string_view content_type) noexcept {
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

result<session_request> parse_kafka_record(std::string_view value) {
    boost::system::error_code ec;
    json::value v = json::parse(value, ec);
    if (ec)
        return error::record_not_json;
    const json::object* record = v.if_object();
    const json::value* id = record ? record->if_contains("session_id") : nullptr;
    const json::value* body = record ? record->if_contains("request") : nullptr;
    if (!id || !id->is_string() || id->get_string().empty())
        return error::record_without_session_id;
    if (!body || !body->is_object())
        return error::record_without_request;
    session_request r;
    r.session_id = id->get_string();
    r.body = json::serialize(*body);
    if (const json::value* q = body->get_object().if_contains("user_query"); q && q->is_string())
        r.user_query = q->get_string();
    return r;
}

} // namespace ssebridge::wire
