// publish_event for C++ workers: record and publish an event as a co_await.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/client.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ssebridge::worker {

namespace detail {
struct recorder_state;
}

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
/// One script call per event: a worker with many sessions at once spends
/// less of Redis's CPU with a `recorder`.
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

/// Records events in batches, for a worker that serves many sessions at
/// once: the events recorded while the executor is busy — typically the
/// handlers that one Redis read resumed — go to Redis in one script call
/// (up to `max_batch` events), so Redis pays the script's cost once per
/// batch instead of once per event. An event waits for nothing: the batch
/// leaves as soon as the executor has run what was ready. Each event's
/// outcome is what `publish_event` gives, and one session's events stay in
/// order. On a Redis Cluster a batch holds the events of one slot.
///
///     worker::recorder rec(redis);
///     co_await rec.publish_event(session_id, "worker_ack");
///
/// Single-threaded (the executor of `redis`). `redis` must outlive every
/// event in flight; the recorder itself may go before them.
/// Cancellation of a wait: terminal; the event may still be recorded.
class recorder {
public:
    explicit recorder(redis::client& redis, recording log = {});
    ~recorder();
    recorder(const recorder&) = delete;
    recorder& operator=(const recorder&) = delete;

    coro::awaitable<published> publish_event(std::string_view session_id,
                                             std::string_view event_type,
                                             std::string_view payload_json = "{}");
    coro::awaitable<published> record_message(std::string_view session_id, std::string message);
    coro::awaitable<published> record_cancelled(std::string_view session_id);

    /// Events in one script call, at most: a script holds Redis while it runs.
    static constexpr std::size_t max_batch = 256;

private:
    std::shared_ptr<detail::recorder_state> state_;
};

} // namespace ssebridge::worker
