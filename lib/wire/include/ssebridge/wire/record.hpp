// Recording (DESIGN.md §7): how a worker's event becomes an entry of the
// session's log and a message on its channel, in one atomic script call.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::wire {

/// The Lua script that records and publishes events, each atomically and
/// in order: per event `XADD <log> MAXLEN ~ N * m <message>`, then `PUBLISH
/// <channel>` of `recorded_message(id, message)` (`SPUBLISH` on a Redis
/// Cluster); each log written expires TTL seconds later. A batch of events
/// (one session's or several sessions') is one call: Redis pays the script's
/// cost once, not per event. Its keys and arguments come from
/// `record_arguments`. Returns, per event, its entry id and how many
/// subscribers received it — or nil and 0 when the session's tombstone is
/// set (unless the event is marked `even_if_cancelled`: the library's own
/// `cancelled` event): after a cancel, nothing more is recorded or published
/// — or an error (and 0) when Redis refused to record it.
/// The Python worker module (lib/worker/python) runs the same text.
std::string_view record_script() noexcept;

/// One event for `record_script`.
struct record_entry {
    std::string_view session_id;
    std::string_view message;       ///< an `event_message`, a JSON object
    bool even_if_cancelled = false; ///< record it even after a cancel
};

/// The keys and arguments of one call of `record_script`.
struct record_call {
    std::vector<std::string> keys; ///< per session: `log_key`, `session_channel`, `cancel_key`
    std::vector<std::string> args;
};

/// The call of `record_script` that records `entries`, in order: logs kept
/// at about `max_len` entries, expiring `ttl` after their last event;
/// `sharded` on a Redis Cluster (then every entry's session must hash to one
/// slot: a script's keys share a slot).
record_call record_arguments(std::span<const record_entry> entries, std::size_t max_len,
                             std::chrono::seconds ttl, bool sharded);

/// The script's SHA-1 in hex, for `EVALSHA`.
std::string_view record_script_sha1() noexcept;

/// The Lua script a gateway runs when it creates a session: the session's
/// log `KEYS[1]`, empty, expiring after `ARGV[1]` seconds — unless it exists
/// already. From then on the log tells that the session exists: a GET of its
/// events before the worker's first one waits instead of answering 404.
std::string_view open_script() noexcept;
std::string_view open_script_sha1() noexcept;

/// The Lua script of a cancel: the tombstone `KEYS[1]` (`cancel_key`) for
/// `ARGV[1]` seconds, then `PUBLISH KEYS[2]` (`control_channel`) `cancel`
/// (`SPUBLISH` when ARGV[2] is `s`). Returns how many workers heard it.
std::string_view cancel_script() noexcept;
std::string_view cancel_script_sha1() noexcept;

/// Name of the log entry's field that holds the event message.
inline constexpr std::string_view log_message_field = "m";

/// The message of a recorded event, live and replayed: `message` (a JSON
/// object, as `event_message` makes it) with `"id":"<id>"` as its first
/// member.
std::string recorded_message(std::string_view id, std::string_view message);

} // namespace ssebridge::wire
