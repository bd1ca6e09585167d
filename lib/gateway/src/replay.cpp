// A reader's replay of the session's log (DESIGN.md §7): after the cursor,
// in pages each written before the next is read, while live events wait.
#include "pipeline.hpp"
#include "session.hpp"

#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>

namespace ssebridge::gateway {

namespace {

// Commands on a session's log, built outside the coroutines (braced lists).
std::string log_range_command(const std::string& id, std::string_view from, std::string_view to) {
    return redis::make_command({"XRANGE", wire::log_key(id), from, to});
}

coro::awaitable<redis::reply> read_page(gateway::state& st, const std::string& id,
                                        const std::string& from, std::size_t bytes,
                                        std::size_t most) {
    return st.redis.commands.async_eval(
        {wire::log_page_script(), wire::log_page_script_sha1()}, {wire::log_key(id)},
        {from, std::to_string(bytes), std::to_string(most), wire::sealing_id.to_string()});
}

/// Writes what the stream's state has ready into `buffer` and out. False
/// once the client is gone or the last chunk is out.
coro::awaitable<bool> write_ready(session& s, std::string& buffer) {
    for (;;) {
        std::optional<detail::chunk> c = s.machine().take(buffer, coro::clock::now());
        if (!c)
            co_return !s.state().finished();
        bool ok = co_await s.stream().out().write(buffer, c->last);
        if (!ok)
            co_return false; // the client is gone: nothing more to say
        if (!s.stream().written(*c))
            co_return false;
    }
}

std::string log_info_command(const std::string& id) {
    return redis::make_command({"XINFO", "STREAM", wire::log_key(id)});
}

/// True when `XINFO STREAM` says entries were added that the log no longer
/// holds (trimmed by MAXLEN, or deleted): its start is gone. The one entry
/// every log lacks is the placeholder that opened it (`wire::open_script`).
bool lost_its_start(const redis::reply& info) {
    std::int64_t length = -1, added = -1;
    for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2) {
        if (info.elements[i].value == "length")
            length = info.elements[i + 1].integer;
        else if (info.elements[i].value == "entries-added")
            added = info.elements[i + 1].integer;
    }
    return length >= 0 && added > length + 1;
}

/// Where the replay starts: after the cursor when the log holds it, else
/// (with a reset event) at the oldest retained entry; without a cursor at
/// the session's first event (with a reset when the log lost it). Nullopt:
/// Redis failed.
coro::awaitable<std::optional<std::string>> replay_start(session& s, const std::string& cursor) {
    std::string reason;
    if (cursor.empty()) {
        std::optional<redis::reply> info =
            co_await command(s.gateway_state(), log_info_command(s.id()));
        if (!info || (info->is_error() && info->value.find("no such key") == std::string::npos))
            co_return std::nullopt;
        if (!lost_its_start(*info))
            co_return "-";
        reason = "the session's first events are no longer in its log (trimmed)";
    } else if (wire::entry_id::parse(cursor)) {
        std::optional<redis::reply> r =
            co_await command(s.gateway_state(), log_range_command(s.id(), cursor, cursor));
        if (!r || r->is_error())
            co_return std::nullopt;
        if (r->elements.size() == 1) {
            const redis::reply& fields = r->elements[0].elements.at(1);
            if (fields.elements.size() >= 2)
                s.feed([&](detail::stream_state& m) {
                    return m.on_cursor(wire::recorded_message(cursor, fields.elements[1].value));
                });
            co_return "(" + cursor;
        }
    }
    ++s.gateway_state().stats.resets;
    if (reason.empty())
        reason =
            "event " + cursor + " is not in the session's log (trimmed, expired or never recorded)";
    s.feed([&](detail::stream_state& m) { return m.on_reset(reason); });
    co_return "-";
}

} // namespace

/// Streams the log after `cursor` in pages, each written before the next is
/// read (a replay never holds the whole log, and a slow client slows only
/// its own replay), then releases the live events held meanwhile. False
/// once the client is gone.
///
/// Pages are bounded in bytes, not entries: Redis reads and answers the
/// entries that fit in 256 KiB (`wire::log_page_script`; an entry bigger
/// than that is a page of its own). Each page is taken from the shard's
/// --replay-memory before it is read and given back once the client's
/// socket took it, so a client that stops reading holds one page (until
/// the write timeout cuts it), and readers beyond the budget wait their
/// turn, first come, first served. A storm of replays is kept from delaying
/// the live streams by a second bound: one page is read at a time per
/// shard (`replay_reads`), so what it queues on Redis, and on the loop, is
/// one page's work whatever the number of readers (measured: 2 at once
/// made the live p99 6-7x worse under a storm, 1 at once 2.5x, for the
/// same bytes replayed: Redis answers one page while the last is written).
coro::awaitable<bool> replay(session& s, std::string cursor) {
    std::optional<std::string> start = co_await replay_start(s, cursor);
    gateway::state& st = s.gateway_state();
    coro::budget& memory = st.sessions.replay_memory;
    constexpr std::size_t page_bytes_at_most = 256 * 1024;
    const std::size_t page_bytes = std::min(page_bytes_at_most, memory.capacity());
    const std::size_t max_count = std::min<std::size_t>(256, st.cfg.max_queue);
    std::string buffer;
    while (start && s.state().open()) {
        coro::budget::lease held = co_await memory.async_acquire(page_bytes);
        bool ended = false;
        std::size_t bytes = 0;
        {
            std::optional<redis::reply> r;
            coro::budget::lease reading = co_await st.sessions.replay_reads.async_acquire(1);
            try {
                r = co_await read_page(st, s.id(), *start, page_bytes, max_count);
            } catch (const boost::system::system_error&) {
                // Redis unreachable: the stream ends as lost, below.
            }
            reading.reset();
            if (!r || r->is_error() || r->elements.size() != 2) {
                start.reset();
                break;
            }
            ended = r->elements[1].integer == 1;
            for (const redis::reply& entry : r->elements[0].elements) {
                if (entry.elements.size() != 2)
                    continue;
                const std::string& entry_id = entry.elements[0].value;
                start = "(" + entry_id;
                const redis::reply& fields = entry.elements[1];
                if (fields.elements.size() < 2 ||
                    fields.elements[0].value != wire::log_message_field)
                    continue; // not an entry a recorder wrote
                std::string message = wire::recorded_message(entry_id, fields.elements[1].value);
                bytes += message.size();
                s.feed([&](detail::stream_state& m) {
                    return m.on_replayed(message, coro::clock::now());
                });
            }
        } // the reply goes before the page is written: its frames are what is held
        held.resize(bytes);
        bool more = co_await write_ready(s, buffer);
        if (!more)
            co_return false;
        if (ended && !s.machine().take_replay_overflow())
            break; // the log is read; what came meanwhile is held
    }
    if (!start)
        s.feed([](detail::stream_state& m) { return m.on_lost(); });
    s.feed([](detail::stream_state& m) { return m.end_replay(coro::clock::now()); });
    co_return true; // what is ready now is written once the writer is done
}

} // namespace ssebridge::gateway
