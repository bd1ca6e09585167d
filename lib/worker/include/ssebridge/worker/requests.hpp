// The worker side of the Kafka topic: requests as the gateway produces them.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/kafka/consumer.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::worker {

/// One session's request.
struct request {
    std::string session_id;
    std::string body;       ///< the client's JSON object, as compact JSON
    std::string user_query; ///< body.user_query, for convenience
};

/// Reads a record value `{"session_id": "...", "request": {...}}`.
/// Returns nullopt and the reason in `error` when it is not one.
std::optional<request> parse_request(std::string_view record_value, std::string& error);

using request_handler = std::function<coro::awaitable<void>(request)>;

/// Consumes requests and runs `handler` for each, concurrently, with at
/// most `max_in_flight` running at once (consumption pauses at the limit).
/// Malformed records are logged and skipped; a handler's exception is
/// logged and ends only that request. Runs until cancelled; cancelling it
/// cancels the running handlers and waits for them.
coro::awaitable<void> serve_requests(kafka::consumer& consumer, request_handler handler,
                                     std::size_t max_in_flight = 1024);

} // namespace ssebridge::worker
