// What recording one event sends to Redis, without the I/O (DESIGN.md §7):
// the part of a session's writer that `session_writer` and the bench share.
#pragma once

#include <ssebridge/wire/event.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace ssebridge::worker {

/// How a session's log is kept (DESIGN.md §7).
struct recording {
    std::size_t max_len = 10000;    ///< entries kept, about (`XADD MAXLEN ~`)
    std::chrono::seconds ttl{3600}; ///< the log lives at least this long after its last event
    /// How long a write waits for Redis to be reachable again (a restart,
    /// a cluster failover) when it could not be sent, was lost with its
    /// connection, or the cluster refused it unrun (CLUSTERDOWN); then it
    /// fails. Sending an event again is safe: its id is chosen before it is
    /// sent, and Redis refuses a second entry with it.
    std::chrono::milliseconds reconnect_wait{10000};
};

/// The id of the next event this process records, `<ms>-<seq>` from the
/// system clock: greater than every id it gave before, and than `after`
/// (the log's newest, when another writer went ahead). Process-wide, so
/// that the ids of one session increase however many writers of this
/// process take turns on it.
wire::entry_id next_event_id(wire::entry_id after = {});

/// The id a new event `message` gets: `wire::sealing_id` for one that ends
/// the session (`FinalAnswerStreamEnd`, `cancelled`, an `error`: recorded,
/// any ends it), else `next_event_id()`. Throws `system_error` (`event_*`)
/// for a message that is not an event.
wire::entry_id id_for(std::string_view message);

/// One session's log and channel, as a single writer records into them:
/// one transaction per event, `XADD <log> MAXLEN ~ <max_len> <id> m
/// <message>` then `PUBLISH <channel> <recorded_message(id, message)>`
/// (`SPUBLISH` on a cluster), and, once in a while, `EXPIRE`. Atomic
/// (`MULTI`/`EXEC`): the entry and the message are one event with one id.
/// The writer chooses the id, so it knows the message before Redis does;
/// a terminal event takes `wire::sealing_id`, after which Redis refuses
/// every entry. An `XADD` refused inside `EXEC` does not stop the `PUBLISH`
/// after it: that message carries an id no greater than the log's newest,
/// which every subscriber has had already, and drops (a terminal one, or a
/// repeat).
class recorder {
public:
    recorder(std::string_view session_id, recording log, bool sharded);

    /// One event's transaction.
    struct transaction {
        wire::entry_id id;
        std::size_t commands = 0; ///< appended (for MULTI/EXEC's replies)
    };

    /// Appends the commands that record `message` (an `event_message`) with
    /// `id` to `out`, without MULTI and EXEC. `EXPIRE` goes with a terminal
    /// event (`ttl`), and otherwise once every `ttl / 8` (at least a second)
    /// with `ttl` and that much more, so that the log outlives its last
    /// event by `ttl` without an `EXPIRE` per event.
    transaction append(std::string& out, std::string_view message, wire::entry_id id,
                       std::chrono::steady_clock::time_point now);

    /// The last transaction may not have run: the next one sets the expiry.
    void expiry_unsure() noexcept { expire_due_ = {}; }

    [[nodiscard]] const std::string& log_key() const noexcept { return log_; }

private:
    std::string log_;
    std::string channel_;
    recording keep_;
    bool sharded_ = false;
    std::chrono::steady_clock::time_point expire_due_{};
};

} // namespace ssebridge::worker
