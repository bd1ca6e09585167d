// A reader's replay of the session's log (DESIGN.md §7): after the cursor,
// in pages each written before the next is read, while live events wait.
#include "pipeline.hpp"
#include "session.hpp"

#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <algorithm>

namespace ssebridge::gateway {

namespace {

// Commands on a session's log, built outside the coroutines (braced lists).
std::string log_range_command(const std::string& id, std::string_view from, std::string_view to,
                              std::string_view count = {}) {
    std::string key = wire::log_key(id);
    if (count.empty())
        return redis::make_command({"XRANGE", key, from, to});
    return redis::make_command({"XRANGE", key, from, to, "COUNT", count});
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
coro::awaitable<bool> replay(session& s, std::string cursor) {
    std::optional<std::string> start = co_await replay_start(s, cursor);
    const std::size_t page = std::min<std::size_t>(256, s.gateway_state().cfg.max_queue);
    const std::string count = std::to_string(page);
    std::string buffer;
    while (start && s.state().open()) {
        std::optional<redis::reply> r =
            co_await command(s.gateway_state(), log_range_command(s.id(), *start, "+", count));
        if (!r || r->is_error()) {
            start.reset();
            break;
        }
        for (const redis::reply& entry : r->elements) {
            if (entry.elements.size() != 2 || entry.elements[1].elements.size() < 2 ||
                entry.elements[1].elements[0].value != wire::log_message_field)
                continue; // not an entry a recorder wrote
            const std::string& entry_id = entry.elements[0].value;
            std::string message =
                wire::recorded_message(entry_id, entry.elements[1].elements[1].value);
            s.feed([&](detail::stream_state& m) {
                return m.on_replayed(message, coro::clock::now());
            });
            start = "(" + entry_id;
        }
        bool more = co_await write_ready(s, buffer);
        if (!more)
            co_return false;
        if (r->elements.size() < page && !s.machine().take_replay_overflow())
            break; // the log is read; what came meanwhile is held
    }
    if (!start)
        s.feed([](detail::stream_state& m) { return m.on_lost(); });
    s.feed([](detail::stream_state& m) { return m.end_replay(coro::clock::now()); });
    co_return true; // what is ready now is written once the writer is done
}

} // namespace ssebridge::gateway
