// The worker side of the Kafka topic: requests as the gateway produces them.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/wire/request.hpp>

#include <cstddef>
#include <functional>

namespace ssebridge::worker {

/// One session's request, as the gateway's Kafka record carries it.
using request = wire::session_request;

using request_handler = std::function<coro::awaitable<void>(request)>;

/// Consumes requests and runs `handler` for each, concurrently, with at
/// most `max_in_flight` running at once (consumption pauses at the limit).
/// Malformed records are logged and skipped; a handler's exception is
/// logged and ends only that request. Runs until cancelled; cancelling it
/// cancels the running handlers and waits for them.
coro::awaitable<void> serve_requests(kafka::consumer& consumer, request_handler handler,
                                     std::size_t max_in_flight = 1024);

} // namespace ssebridge::worker
