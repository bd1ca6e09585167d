#include <ssebridge/worker/publish.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <stdexcept>

namespace ssebridge::worker {

std::string session_channel(std::string_view session_id) {
    std::string channel = "sse_session:";
    channel += session_id;
    return channel;
}

std::string event_message(std::string_view event_type, std::string_view payload_json) {
    boost::system::error_code ec;
    boost::json::value payload = boost::json::parse(payload_json, ec);
    if (ec)
        throw std::invalid_argument("payload is not valid JSON: " + ec.message());
    std::string out = R"({"event_type":)";
    out += boost::json::serialize(boost::json::string(event_type));
    out += R"(,"payload":)";
    out += boost::json::serialize(payload); // compact: one line, whatever the input's layout
    out += '}';
    return out;
}

// Not a coroutine: the message is built (and checked) before anything is sent.
coro::awaitable<std::int64_t> publish_event(redis::client& redis, std::string_view session_id,
                                            std::string_view event_type,
                                            std::string_view payload_json) {
    return redis.async_publish(session_channel(session_id),
                               event_message(event_type, payload_json));
}

} // namespace ssebridge::worker
