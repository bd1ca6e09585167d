// publish_event for C++ workers: record and publish an event as a co_await.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/client.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::worker {

/// How a session's log is kept (DESIGN.md §7).
struct recording {
    std::size_t max_len = 10000;    ///< entries kept, about (`XADD MAXLEN ~`)
    std::chrono::seconds ttl{3600}; ///< the log expires this long after its last event
    /// How long a publish waits for Redis to be reachable again (a restart,
    /// a cluster failover) when the command could not even be sent, or the
    /// cluster refused it unrun (CLUSTERDOWN); then it fails. A command lost with its connection is
    /// not sent again: it may have run (the event would be recorded twice).
    std::chrono::milliseconds reconnect_wait{10000};
};

/// What publishing an event did.
struct published {
    std::string id;             ///< the event's id: its entry id in the log, `<ms>-<seq>`
    std::int64_t receivers = 0; ///< gateways that got it live (0: nobody listens now)
};

/// Records one event (`wire::event_message`) in the session's log and
/// publishes it with its `"id"` first, in one atomic script call
/// (`wire::record_script`), so that a client can resume from any event.
/// `receivers` 0 means no gateway holds the session right now (a client
/// may still come back and resume). Throws `system_error`:
/// `wire::error::session_cancelled` once the session is cancelled (nothing
/// was published: stop working), `wire::error::payload_not_json` for a bad
/// payload, a network error when Redis is unreachable;
/// `std::runtime_error` when Redis refuses the script.
coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type,
                                         std::string_view payload_json = "{}",
                                         const recording& log = {});

/// Records and publishes `message`, a complete event message
/// (`wire::event_message`, `wire::error_message`), as `publish_event` does.
/// For those who decide events themselves, like a gateway ending a session.
coro::awaitable<published> record_message(redis::client& redis, std::string_view session_id,
                                          std::string message, const recording& log = {});

/// Records the session's terminal `cancelled` event (even though the
/// session's tombstone is set: it is the confirmation a cancel waits for).
coro::awaitable<published> record_cancelled(redis::client& redis, std::string_view session_id,
                                            const recording& log = {});

} // namespace ssebridge::worker
