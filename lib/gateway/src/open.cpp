// The opening of a stream, up to its headers (DESIGN.md §2): subscribe
// (confirmed), open the session's log and produce its Kafka record (a
// creator), or check that the session exists (a reader); then the headers.
#include "pipeline.hpp"
#include "session.hpp"

#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/wire/http.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/wire/token.hpp>
#include <ssebridge/wire/ui_stream.hpp>

#include <boost/system/system_error.hpp>

#include <chrono>
#include <cmath>

namespace ssebridge::gateway {

namespace asio = boost::asio;

std::string log_ttl(const gateway::state& st) {
    return std::to_string(std::llround(std::ceil(st.cfg.log_ttl)));
}

// Not a coroutine: no braced lists in a coroutine frame (g++ 12).
coro::awaitable<redis::reply> open_log(gateway::state& st, const std::string& id,
                                       const std::string& ttl) {
    return st.redis.commands.async_eval({wire::open_script(), wire::open_script_sha1()},
                                        {wire::log_key(id)}, {ttl});
}

coro::awaitable<std::optional<redis::reply>> command(gateway::state& st, std::string cmd) {
    try {
        co_return co_await st.redis.commands.async_exec(std::move(cmd));
    } catch (const boost::system::system_error&) {
        co_return std::nullopt;
    }
}

// Not a coroutine: no braced lists in a coroutine frame (g++ 12).
http::response no_content() {
    return http::response{204, "", "", {}};
}

std::string log_exists_command(const std::string& id) {
    return redis::make_command({"EXISTS", wire::log_key(id)});
}

namespace {

std::string last_entry_command(const std::string& id) {
    return redis::make_command({"XREVRANGE", wire::log_key(id), "+", "-", "COUNT", "1"});
}

/// The id of the session's terminal event when `last` (an `XREVRANGE …
/// COUNT 1` reply) is that event; nullopt while the session goes on.
std::optional<wire::entry_id> terminal_entry(const redis::reply& last) {
    if (last.elements.size() != 1 || last.elements[0].elements.size() != 2)
        return std::nullopt;
    const redis::reply& entry = last.elements[0];
    std::optional<wire::entry_id> end = wire::entry_id::parse(entry.elements[0].value);
    const redis::reply& fields = entry.elements[1];
    if (!end || fields.elements.size() < 2 || fields.elements[0].value != wire::log_message_field)
        return std::nullopt;
    auto info = wire::inspect_event(fields.elements[1].value);
    if (!info)
        return std::nullopt;
    info->id = end;
    return wire::ends_session(*info) ? end : std::nullopt;
}

bool ends_the_session(const std::optional<redis::reply>& last) {
    return last && terminal_entry(*last).has_value();
}

/// True when `cursor` is at or after the session's terminal event (`last`):
/// nothing is left to send.
bool cursor_is_past_the_end(const redis::reply& last, const std::string& cursor) {
    std::optional<wire::entry_id> at = wire::entry_id::parse(cursor);
    std::optional<wire::entry_id> end = terminal_entry(last);
    return at && end && *at >= *end;
}

/// The headers of a stream: a POST's (creator or joiner) carry the token.
std::vector<http::header> stream_headers(const session& s, const stream_start& start) {
    std::vector<http::header> headers{{"Cache-Control", "no-cache"},
                                      {"X-Accel-Buffering", "no"},
                                      {std::string(wire::http::session_id_header), s.id()}};
    if (start.ui)
        headers.push_back(
            {std::string(wire::ui_stream_header), std::string(wire::ui_stream_version)});
    headers.insert(headers.end(), start.headers.begin(), start.headers.end());
    if (s.kind() != detail::stream_kind::subscriber) {
        auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       std::llround(s.gateway_state().cfg.token_ttl);
        headers.push_back({std::string(wire::http::session_token_header),
                           wire::make_token(s.gateway_state().token_secret, s.id(),
                                            wire::session_scope, expires)});
    }
    return headers;
}

/// Sends the stream's headers; false when the client is gone (its session,
/// which exists, is then abandoned unless someone comes back in time).
coro::awaitable<bool> send_headers(session& s, http::exchange& ex, const stream_start& start) {
    std::vector<http::header> headers = stream_headers(s, start);
    bool ok = co_await ex.start_stream("text/event-stream; charset=utf-8", headers);
    if (!ok)
        note_abandoned(s.gateway_state(), s.id());
    co_return ok;
}

/// Subscribes `s` to its session's channel; the failure's text when it cannot.
coro::awaitable<std::string> subscribe(session& s) {
    try {
        redis::subscriber::subscription sub =
            co_await s.gateway_state().redis.subscriber.async_subscribe(
                wire::session_channel(s.id()), s);
        s.subscribed(std::move(sub));
    } catch (const boost::system::system_error& e) {
        co_return e.code() == asio::error::not_connected ? "Redis unavailable"
                                                         : "Redis: " + e.code().message();
    }
    co_return std::string();
}

coro::awaitable<void> cancel_failed(gateway::state& st, std::string id) {
    co_await cancel_session(st, id);
}

/// Subscribes, hands the request to Kafka and sends the headers; true once
/// the stream is open.
coro::awaitable<bool> open_stream(session& s, http::exchange& ex, const stream_start& start) {
    gateway::state& st = s.gateway_state();
    std::string failure = co_await subscribe(s);
    co_await coro::throw_if_cancelled();
    if (failure.empty() && !s.does_exist()) {
        // The empty log tells every gateway that the session exists.
        try {
            redis::reply r = co_await open_log(st, s.id(), log_ttl(st));
            if (r.is_error())
                failure = "Redis: " + r.value;
        } catch (const boost::system::system_error& e) {
            failure = e.code() == asio::error::not_connected ? "Redis unavailable"
                                                             : "Redis: " + e.code().message();
        }
    }
    if (!failure.empty()) {
        co_await refuse(st, ex, failure);
        co_return false;
    }
    s.exists();

    // The worker may answer at once: the subscription is confirmed first.
    std::optional<kafka::delivery> delivered;
    {
        std::string record = wire::kafka_record( // freed once delivered
            s.id(), start.record_body.empty() ? ex.req().body : start.record_body);
        // Our own deadline: librdkafka looks at message timeouts once a second.
        delivered = co_await coro::with_timeout(
            st.kafka.producer.async_produce(st.cfg.kafka_topic, s.id(), record),
            coro::seconds(st.cfg.kafka_timeout));
    }
    if (delivered && delivered->too_large) { // above what Kafka takes: not worth a retry
        spawn_record(st, cancel_failed(st, s.id()),
                     "session " + s.id() + ": refused, but its tombstone not set");
        co_await ex.respond_error(413, "request too large for Kafka: " + delivered->error);
        co_return false;
    }
    if (!delivered || !delivered->ok) {
        // The record may still arrive later: the tombstone keeps a worker
        // from working for a session its client was told failed.
        spawn_record(st, cancel_failed(st, s.id()),
                     "session " + s.id() + ": refused, but its tombstone not set");
        std::string reason = delivered ? delivered->error : "no delivery report in time";
        // Its id, for the logs and for a client that wants to check it never ran.
        co_await refuse(st, ex, "Kafka did not take the request: " + reason, s.id());
        co_return false;
    }
    auto ack_deadline = coro::clock::now() + coro::seconds(st.cfg.ack_timeout);

    bool ok = co_await send_headers(s, ex, start);
    if (!ok)
        co_return false;
    ++st.stats.sessions_started;
    s.machine().on_stream_started(coro::clock::now(), ack_deadline);
    histograms::observe(st.timings.setup, s.machine().started_at() - s.received());
    co_return true;
}

/// GET …/events after the checks: subscribe, make sure the session exists
/// and that something is left after `cursor`, send the headers; true once
/// the stream is open.
coro::awaitable<bool> open_events(session& s, http::exchange& ex, const stream_start& start) {
    gateway::state& st = s.gateway_state();
    const std::string& cursor = start.cursor;
    s.machine().begin_replay(); // live events wait for the replay: no gap, no duplicate
    std::string failure = co_await subscribe(s);
    co_await coro::throw_if_cancelled();
    std::optional<redis::reply> last;
    if (failure.empty() && (start.only_if_running || wire::entry_id::parse(cursor))) {
        last = co_await command(st, last_entry_command(s.id()));
        if (!last || last->is_error())
            failure = "Redis unavailable";
    }
    std::optional<redis::reply> exists;
    if (failure.empty() && (!last || last->elements.empty())) {
        exists = co_await command(st, log_exists_command(s.id()));
        if (!exists || exists->is_error())
            failure = "Redis unavailable";
    }
    if (!failure.empty()) {
        co_await refuse(st, ex, failure);
        co_return false;
    }
    if (start.only_if_running && (ends_the_session(last) || (exists && exists->integer == 0))) {
        co_await ex.respond(no_content()); // nothing runs: nothing to resume
        co_return false;
    }
    if (last && cursor_is_past_the_end(*last, cursor)) {
        // The end is the end: 204 is what makes an EventSource stop
        // reconnecting (an empty 200 it would poll every few seconds).
        ++st.stats.ended_cursors;
        co_await ex.respond(no_content());
        co_return false;
    }
    if (exists && exists->integer == 0) {
        co_await ex.respond_error(404, "no such session, or its log has expired");
        co_return false;
    }
    s.exists();
    bool ok = co_await send_headers(s, ex, start);
    if (!ok)
        co_return false;
    ++st.stats.event_streams_started;
    s.machine().on_stream_started(coro::clock::now());
    co_return true;
}

/// Opens a stream of its kind; true once its headers are out (not a
/// coroutine: no `?:` between awaitables).
} // namespace

coro::awaitable<bool> open(session& s, http::exchange& ex, const stream_start& start) {
    if (s.kind() == detail::stream_kind::creator)
        return open_stream(s, ex, start);
    return open_events(s, ex, start);
}

} // namespace ssebridge::gateway
