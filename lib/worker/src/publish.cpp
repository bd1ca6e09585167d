#include <ssebridge/worker/publish.hpp>

#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

namespace ssebridge::worker {

// Not a coroutine: the message is built (and checked) before anything is sent.
coro::awaitable<std::int64_t> publish_event(redis::client& redis, std::string_view session_id,
                                            std::string_view event_type,
                                            std::string_view payload_json) {
    return redis.async_publish(wire::session_channel(session_id),
                               wire::event_message(event_type, payload_json).value());
}

} // namespace ssebridge::worker
