// Recording a session's events for C++ workers, each a co_await (DESIGN.md §7).
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/worker/recorder.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::worker {

/// What publishing an event did.
struct published {
    std::string id;             ///< the event's id: its entry id in the log, `<ms>-<seq>`
    std::int64_t receivers = 0; ///< gateways that got it live (0: nobody listens now)
};

/// The single writer of one session's events: records each in the
/// session's log and publishes it with its `"id"` first, in one `MULTI`/
/// `EXEC` (see `recorder`), so that a client can resume from any event.
/// Ids increase; after a terminal event (`FinalAnswerStreamEnd`,
/// `cancelled`, an `error`) nothing more is recorded, by this writer or
/// any other.
///
/// Throws `system_error`: `wire::error::session_cancelled` once `cancel()`
/// was called (nothing was sent: stop working), `wire::error::session_ended`
/// when the log holds a terminal event already (the gateway ended the
/// session, or another writer did: stop), `wire::error::payload_not_json`
/// or `event_*` for a bad event, a network error when Redis stays
/// unreachable past `recording::reconnect_wait`; `std::runtime_error` when
/// Redis refuses the commands. One writer's calls go one at a time.
class session_writer {
public:
    session_writer(redis::client& redis, std::string session_id, recording log = {});

    /// Records `event_type` with `payload_json` (`wire::event_message`).
    coro::awaitable<published> publish(std::string_view event_type,
                                       std::string_view payload_json = "{}");

    /// Records `message`, a complete event message (`wire::event_message`,
    /// `wire::error_message`).
    coro::awaitable<published> record(std::string message);

    /// Records the terminal `cancelled` event: the confirmation a cancel
    /// waits for (even after `cancel()`).
    coro::awaitable<published> record_cancelled();

    /// The session is cancelled: from now on only `record_cancelled` records.
    void cancel() noexcept { cancelled_ = true; }

    [[nodiscard]] const std::string& session_id() const noexcept { return id_; }

private:
    coro::awaitable<published> write(std::string message, wire::entry_id id);
    coro::awaitable<wire::entry_id> newest_id();
    coro::awaitable<bool> holds(const wire::entry_id& id, const std::string& message);

    redis::client& redis_;
    std::string id_;
    recording keep_;
    recorder recorder_;
    bool cancelled_ = false;
    bool ended_ = false;
};

/// Records one event with a writer of its own (`session_writer::publish`),
/// for a worker that writes a session's events from several places: it
/// refreshes the log's expiry with every event. A worker that holds a
/// session's writer (`serve_requests` gives one) records for less.
coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type,
                                         std::string_view payload_json = "{}",
                                         const recording& log = {});

/// Records `message` with a writer of its own (`session_writer::record`):
/// for those who decide one event themselves, like a gateway ending a session.
coro::awaitable<published> record_message(redis::client& redis, std::string_view session_id,
                                          std::string message, const recording& log = {});

} // namespace ssebridge::worker
