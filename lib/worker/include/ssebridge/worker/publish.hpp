// publish_event for C++ workers: the seed's publisher as a co_await.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/client.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::worker {

/// `sse_session:{session_id}`, the channel a gateway listens on for a session.
std::string session_channel(std::string_view session_id);

/// `{"event_type":"<event_type>","payload":<payload_json>}`, the message the
/// seed's `publish_event` sends. Throws `std::invalid_argument` when
/// `payload_json` is not valid JSON.
std::string event_message(std::string_view event_type, std::string_view payload_json = "{}");

/// Publishes one event to the session's channel and returns how many
/// subscribers received it (0: no gateway holds the session any more —
/// the client left, stop working for it). Throws `std::invalid_argument` on
/// a bad payload, `system_error` when Redis is unreachable.
coro::awaitable<std::int64_t> publish_event(redis::client& redis, std::string_view session_id,
                                            std::string_view event_type,
                                            std::string_view payload_json = "{}");

} // namespace ssebridge::worker
