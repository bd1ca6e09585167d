#include <ssebridge/gateway/detail/frames.hpp>

#include <ssebridge/sse/encode.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <random>

namespace ssebridge::gateway::detail {

void append_event_frame(std::string& out, std::string_view message, std::string_view id) {
    if (!id.empty())
        out.append("id: ").append(id).push_back('\n'); // an entry id: digits and a dash
    if (sse::find_line_break(message) == std::string_view::npos) {
        sse::append_data_frame(out, message);
        return;
    }
    sse::append_data_frame(out, boost::json::serialize(boost::json::parse(message)));
}

void append_error_frame(std::string& out, wire::end_code code, std::string_view text,
                        std::optional<unsigned> retry_ms) {
    std::string message = wire::error_message(code, text);
    sse::append_event(out, {.data = message, .retry_ms = retry_ms});
}

std::optional<unsigned> retry_hint(wire::end_code code) {
    if (code != wire::end_code::shutting_down && code != wire::end_code::backend_lost)
        return std::nullopt;
    thread_local std::minstd_rand random(std::random_device{}());
    return std::uniform_int_distribution<unsigned>(250, 1249)(random);
}

} // namespace ssebridge::gateway::detail
