// The worker side of the Kafka topic: requests as the gateway produces them,
// each run as a coroutine that a cancel stops (DESIGN.md §7).
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/worker/publish.hpp>

#include <cstddef>
#include <functional>

namespace ssebridge::worker {

/// One session's request, as the gateway's Kafka record carries it.
using request = wire::session_request;

/// Handles one request, recording its events with `events` (the session's
/// writer; it lives until the handler's coroutine is done).
using request_handler = std::function<coro::awaitable<void>(request, session_writer& events)>;

struct serve_options {
    std::size_t max_in_flight = 1024; ///< requests handled at once
    recording log;                    ///< how the sessions' logs are kept
};

/// Consumes requests and runs `handler` for each, concurrently, with at
/// most `max_in_flight` running at once (at the limit the partitions are
/// paused, and polled on, so that the worker keeps its place in the group
/// however long its handlers take — a Redis that hangs, say).
///
/// Cancellation of a session: a request whose tombstone is set before it
/// starts never runs; a running one listens on its control channel
/// (through `control`, a subscriber on the same Redis) and its handler's
/// coroutine is cancelled (terminal) the moment a cancel comes. Either way
/// the library records the terminal `cancelled` event — the confirmation
/// the gateway's cancel waits for. Events recorded between the cancel and
/// its confirmation stay (the gateway's stream shows them before the end);
/// nothing follows the confirmation. A control subscription lost (Redis
/// restarted or failed over) is made again as soon as `control` is back,
/// and the tombstone read then: a cancel published while nobody listened
/// still stops the handler.
///
/// Malformed records are logged and skipped; a handler's exception is
/// logged and ends only that request. Runs until cancelled; cancelling it
/// cancels the running handlers and waits for them.
coro::awaitable<void> serve_requests(kafka::consumer& consumer, redis::client& redis,
                                     redis::subscriber& control, request_handler handler,
                                     serve_options options = {});

} // namespace ssebridge::worker
