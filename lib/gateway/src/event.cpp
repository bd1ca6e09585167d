#include <ssebridge/gateway/detail/event.hpp>

#include <ssebridge/sse/encode.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace ssebridge::gateway::detail {

namespace json = boost::json;

std::optional<frame> make_event_frame(std::string_view payload) {
    // Small messages parse without touching the heap.
    unsigned char stack[4096];
    json::monotonic_resource mr(stack, sizeof stack);
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec, &mr);
    if (ec || !v.is_object())
        return std::nullopt;
    const json::value* type = v.get_object().if_contains("event_type");
    if (!type || !type->is_string())
        return std::nullopt;
    frame f;
    std::string_view t = type->get_string();
    if (t == "worker_ack")
        f.kind = event_kind::ack;
    else if (t == "FinalAnswerStreamEnd")
        f.kind = event_kind::final;
    if (payload.find_first_of("\r\n") == std::string_view::npos)
        sse::append_data_frame(f.bytes, payload);
    else
        sse::append_data_frame(f.bytes, json::serialize(v));
    return f;
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
