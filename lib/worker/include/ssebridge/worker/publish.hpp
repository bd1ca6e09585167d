// publish_event for C++ workers: the seed's publisher as a co_await.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/client.hpp>

#include <cstdint>
#include <string_view>

namespace ssebridge::worker {

/// Publishes one event (`wire::event_message`) to the session's channel and
/// returns how many subscribers received it (0: no gateway holds the session
/// any more — the client left, stop working for it). Throws
/// `system_error`: `wire::error::payload_not_json` for a bad payload, a
/// network error when Redis is unreachable.
coro::awaitable<std::int64_t> publish_event(redis::client& redis, std::string_view session_id,
                                            std::string_view event_type,
                                            std::string_view payload_json = "{}");

} // namespace ssebridge::worker
