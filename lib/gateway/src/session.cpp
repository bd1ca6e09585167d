// The session pipelines: POST (subscribe → open the log → produce → headers →
// ack → relay) and GET …/events (subscribe → headers → replay → relay). A
// stream's decisions are its `stream_state`; this shell moves bytes, the
// Redis reader and the gateway's clock drive it, and a wait on its socket
// sees the client hang up.
#include "state.hpp"

#include <ssebridge/coro/exact_allocator.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/wire/token.hpp>
#include <ssebridge/worker/publish.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using detail::step;

/// One client's stream of a session: the sink of the session's Redis
/// channel, the stream's state, and, once its headers are out, the
/// connection it goes out on.
///
/// Opening it is a coroutine (the requests to Redis and Kafka, the
/// headers); once it streams, it is a plain object that the Redis reader
/// (`on_message`, `flush`), the gateway's clock (`on_tick`) and a wait for
/// the client's hang-up drive. It writes from there, in one non-blocking
/// system call; a coroutine runs only while a socket is full or a replay
/// reads the log. Whoever holds it (the hang-up wait, a running writer, its
/// opening) holds a `shared_ptr`.
class session final : public redis::subscriber::sink, public std::enable_shared_from_this<session> {
public:
    session(gateway::state& st, std::string id, detail::stream_kind kind)
        : st(st)
        , id(std::move(id))
        , kind(kind)
        , stream(st.limits, coro::clock::now(), kind)
        , self_(st.sessions.insert(st.sessions.end(), this)) {
        ++st.session_objects;
    }
    ~session() {
        if (!ended_)
            st.sessions.erase(self_);
        if (unflushed_) // (a read's batch ends before any session can go)
            std::erase(st.unflushed, this);
        if (--st.session_objects == 0)
            st.sessions_gone.notify();
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_message(std::string_view payload) override {
        std::optional<wire::entry_id> newest = stream.last_id();
        step s = stream.on_message(payload, coro::clock::now());
        if (stream.last_id() != newest) // a recorded event, new to this stream
            st.timings.observe_lag(stream.last_id()->ms);
        if (s == step::wake && !ack_noted_)
            note_ack();
        if (s == step::wake) { // written with the others at the read's end
            if (writer_idle() && !unflushed_) {
                unflushed_ = true;
                st.unflushed.push_back(this);
            }
            return;
        }
        act(s);
    }

    /// The end of a Redis read: write what its messages queued.
    void flush() {
        unflushed_ = false;
        act(step::wake);
    }
    void on_lost() override { act(stream.on_lost()); }
    void on_tick(coro::clock::time_point now) { act(stream.on_tick(now)); }
    void shutdown() { act(stream.on_shutdown()); }

    /// Does what the stream's state asks, and counts how it ended: the one
    /// place where a stream touches the gateway's counters for its state.
    void act(step s) {
        switch (s) {
        case step::none:
            break;
        case step::wake:
            if (writer_idle()) // else the writer (or the opening) takes it
                write_now();
            break;
        case step::malformed:
            ++st.stats.malformed_messages;
            break;
        case step::abort:
            if (out_)
                out_->abort(); // the pending write fails, and with it the stream
            break;
        }
        if (!failure_counted_ && stream.end_code()) { // counted when decided, not when written
            failure_counted_ = true;
            ++st.stats.streams_failed[static_cast<std::size_t>(*stream.end_code())];
            record_session_end(*stream.end_code());
        }
    }

    /// Its headers are out: the session takes the connection, watches for
    /// the client's hang-up, and writes what came meanwhile — or first
    /// replays the log from `cursor` (subscribers and joiners).
    void attach(http::response_stream out, std::string cursor) {
        out_.emplace(std::move(out));
        if (!out_->writable()) { // a HEAD: its answer was the headers
            end(false);
            return;
        }
        // A block of its own size: Asio's cache would lend it one a larger
        // operation freed (the headers' write), for as long as the stream lasts.
        out_->async_wait_readable(asio::bind_allocator(
            coro::exact_allocator<void>(),
            [self = shared_from_this()](boost::system::error_code) { self->end(true); }));
        if (kind == detail::stream_kind::creator)
            act(step::wake);
        else
            spawn_writer(replay(*this, std::move(cursor)));
    }

    gateway::state& st;
    const std::string id;
    const detail::stream_kind kind;
    redis::subscriber::subscription subscription; ///< the session's channel
    detail::stream_state stream;
    coro::clock::time_point received; ///< when its request arrived
    bool session_exists = false;      ///< its log exists: it can be resumed, and abandoned

    /// The connection, once attached.
    http::response_stream& out() { return *out_; }

    /// After a chunk went out: the write clock and the counters. False after
    /// the last chunk.
    bool wrote(const detail::chunk& c) {
        stream.on_written(coro::clock::now());
        st.stats.events_relayed += c.events;
        return !c.last;
    }

private:
    [[nodiscard]] bool writer_idle() const noexcept { return out_ && !writer_busy_ && !ended_; }

    /// Writes what is ready, in one non-blocking system call a chunk; a
    /// writer coroutine takes over what a full socket leaves.
    void write_now() {
        std::string buffer; // takes the stream's frames, buffer and all
        for (;;) {
            std::optional<detail::chunk> c = stream.take(buffer, coro::clock::now());
            if (!c)
                return;
            std::optional<std::string> rest = out_->try_write(buffer, c->last);
            if (!rest) {
                end(true); // the client is gone
                return;
            }
            if (!rest->empty()) {
                spawn_writer(drain(*this, std::move(*rest), *c));
                return;
            }
            if (!wrote(*c)) {
                end(false);
                return;
            }
        }
    }

    /// Runs `work` (true: the stream goes on) as the session's one writer;
    /// when it is done the session writes what came meanwhile, or ends.
    void spawn_writer(coro::awaitable<bool> work) {
        writer_busy_ = true;
        asio::co_spawn(st.ex, std::move(work),
                       [self = shared_from_this()](std::exception_ptr e, bool more) {
                           self->writer_busy_ = false;
                           if (e)
                               log::failure(log::level::error, "session " + self->id, e);
                           if (e || !more || self->ended_) {
                               // Unwritable: a write failed, the client is gone.
                               self->end(e || !self->out_->writable());
                               self->release();
                               return;
                           }
                           self->act(step::wake);
                       });
    }

    /// The stream is over (`client_left`: the client hung up, or its
    /// connection failed): counted, noted as abandoned when its session is
    /// unfinished, and its connection let go. Once.
    void end(bool client_left) {
        if (ended_)
            return;
        ended_ = true;
        st.sessions.erase(self_);
        count_end(client_left);
        std::optional<wire::end_code> code = stream.end_code();
        bool left = client_left || code == wire::end_code::write_timeout ||
                    code == wire::end_code::slow_client || code == wire::end_code::backend_lost;
        if (left && session_exists && !stream.completed())
            note_abandoned(st, id); // unless someone comes back in time
        if (client_left || code == wire::end_code::write_timeout)
            out_->close_after();
        release();
    }

    /// Lets the connection go (back to the server for its next request when
    /// the body is finished and it may be kept alive); a running writer's
    /// pending write fails first, and the writer lets it go when it returns.
    void release() {
        if (!out_)
            return;
        if (writer_busy_) {
            out_->abort();
            return;
        }
        out_.reset();
    }

    /// Counts how the stream ended (unless with an error, counted already)
    /// and how long it lasted.
    void count_end(bool client_left) {
        histograms::observe(st.timings.duration, coro::clock::now() - stream.started_at());
        if (stream.completed())
            ++st.stats.streams_completed;
        else if (!stream.end_code() && client_left)
            ++st.stats.client_disconnects;
    }

    /// The worker's ack came: its wait goes to the histogram, once.
    void note_ack() {
        if (auto wait = stream.ack_wait()) {
            ack_noted_ = true;
            histograms::observe(st.timings.ack_wait, *wait);
        }
    }

    /// The creator's gateway decides the session-level ends (no ack, no
    /// event for too long, a flood before the ack) and records them, so that
    /// every subscriber, now or later, sees the same end.
    void record_session_end(wire::end_code code) {
        bool session_level = code == wire::end_code::ack_timeout ||
                             code == wire::end_code::idle_timeout ||
                             code == wire::end_code::early_overflow;
        if (kind != detail::stream_kind::creator || !session_level)
            return;
        spawn_record(st, record_end(st, id, wire::error_message(code, stream.end_text())),
                     "session " + id + ": its end was not recorded");
    }

    static coro::awaitable<void> record_end(gateway::state& st, std::string id,
                                            std::string message) {
        worker::recording keep;
        keep.ttl = std::chrono::seconds(static_cast<long>(std::ceil(st.cfg.log_ttl)));
        co_await worker::record_message(st.commands, id, std::move(message), keep);
    }

    static coro::awaitable<bool> drain(session& s, std::string framed, detail::chunk c);
    static coro::awaitable<bool> replay(session& s, std::string cursor);

    std::optional<http::response_stream> out_;
    std::list<session*>::iterator self_; ///< in st.sessions until it ends
    bool unflushed_ = false;             ///< in st.unflushed
    bool ack_noted_ = false;             ///< the ack wait is observed
    bool writer_busy_ = false;           ///< a writer coroutine runs: it writes, not `write_now`
    bool ended_ = false;
    bool failure_counted_ = false; ///< its error end is counted (and recorded)
};

namespace {

/// Writes what the stream's state has ready into `buffer` and out. False
/// once the client is gone or the last chunk is out.
coro::awaitable<bool> write_ready(session& s, std::string& buffer) {
    for (;;) {
        std::optional<detail::chunk> c = s.stream.take(buffer, coro::clock::now());
        if (!c)
            co_return !s.stream.finished();
        bool ok = co_await s.out().write(buffer, c->last);
        if (!ok)
            co_return false; // the client is gone: nothing more to say
        if (!s.wrote(*c))
            co_return false;
    }
}

} // namespace

/// What a full socket left of a chunk (`framed`), then what came meanwhile.
coro::awaitable<bool> session::drain(session& s, std::string framed, detail::chunk c) {
    bool ok = co_await s.out().write_framed(framed);
    if (!ok)
        co_return false;
    std::string().swap(framed);
    if (!s.wrote(c))
        co_return false;
    std::string buffer;
    bool more = co_await write_ready(s, buffer);
    co_return more;
}

namespace {

/// The headers of a stream: a POST's (creator or joiner) carry the token.
std::vector<http::header> stream_headers(const session& s) {
    std::vector<http::header> headers{
        {"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}, {"X-Session-Id", s.id}};
    if (s.kind != detail::stream_kind::subscriber) {
        auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       std::llround(s.st.cfg.token_ttl);
        headers.push_back({"X-Session-Token", wire::make_token(s.st.token_secret, s.id,
                                                               wire::session_scope, expires)});
    }
    return headers;
}

/// Sends the stream's headers; false when the client is gone (its session,
/// which exists, is then abandoned unless someone comes back in time).
coro::awaitable<bool> send_headers(session& s, http::exchange& ex) {
    std::vector<http::header> headers = stream_headers(s);
    bool ok = co_await ex.start_stream("text/event-stream; charset=utf-8", headers);
    if (!ok)
        note_abandoned(s.st, s.id);
    co_return ok;
}

std::string log_ttl(const gateway::state& st) {
    return std::to_string(std::llround(std::ceil(st.cfg.log_ttl)));
}

// Not a coroutine: no braced lists in a coroutine frame (g++ 12).
coro::awaitable<redis::reply> open_log(gateway::state& st, const std::string& id,
                                       const std::string& ttl) {
    return st.commands.async_eval({wire::open_script(), wire::open_script_sha1()},
                                  {wire::log_key(id)}, {ttl});
}

// Commands on a session's log, built outside the coroutines (braced lists).
std::string log_range_command(const std::string& id, std::string_view from, std::string_view to,
                              std::string_view count = {}) {
    std::string key = wire::log_key(id);
    if (count.empty())
        return redis::make_command({"XRANGE", key, from, to});
    return redis::make_command({"XRANGE", key, from, to, "COUNT", count});
}

/// Subscribes `s` to its session's channel; the failure's text when it cannot.
coro::awaitable<std::string> subscribe(session& s) {
    try {
        s.subscription = co_await s.st.subscriber.async_subscribe(wire::session_channel(s.id), s);
    } catch (const boost::system::system_error& e) {
        co_return e.code() == asio::error::not_connected ? "Redis unavailable"
                                                         : "Redis: " + e.code().message();
    }
    co_return std::string();
}

/// Runs one command for `s`; nullopt (and the session lost) when Redis fails.
coro::awaitable<std::optional<redis::reply>> command(session& s, std::string cmd) {
    try {
        co_return co_await s.st.commands.async_exec(std::move(cmd));
    } catch (const boost::system::system_error&) {
        co_return std::nullopt;
    }
}

/// 503 for a session that could not start, with its id (for the logs, and
/// for a client that wants to check it never ran).
http::response refused_session(const std::string& id, std::string_view reason) {
    http::response res = http::error_response(503, reason);
    res.headers.push_back({"X-Session-Id", id});
    return res;
}

coro::awaitable<void> cancel_failed(gateway::state& st, std::string id) {
    co_await cancel_session(st, id);
}

/// Subscribes, hands the request to Kafka and sends the headers; true once
/// the stream is open.
coro::awaitable<bool> open_stream(session& s, http::exchange& ex) {
    gateway::state& st = s.st;
    std::string failure = co_await subscribe(s);
    co_await coro::throw_if_cancelled();
    if (failure.empty() && !s.session_exists) {
        // The empty log tells every gateway that the session exists.
        try {
            redis::reply r = co_await open_log(st, s.id, log_ttl(st));
            if (r.is_error())
                failure = "Redis: " + r.value;
        } catch (const boost::system::system_error& e) {
            failure = e.code() == asio::error::not_connected ? "Redis unavailable"
                                                             : "Redis: " + e.code().message();
        }
    }
    if (!failure.empty()) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, failure);
        co_return false;
    }
    s.session_exists = true;

    // The worker may answer at once: the subscription is confirmed first.
    std::optional<kafka::delivery> delivered;
    {
        std::string record = wire::kafka_record(s.id, ex.req().body); // freed once delivered
        // Our own deadline: librdkafka looks at message timeouts once a second.
        delivered =
            co_await coro::with_timeout(st.producer.async_produce(st.cfg.kafka_topic, s.id, record),
                                        coro::seconds(st.cfg.kafka_timeout));
    }
    if (delivered && delivered->too_large) { // above what Kafka takes: not worth a retry
        ++st.stats.rejected;
        spawn_record(st, cancel_failed(st, s.id),
                     "session " + s.id + ": refused, but its tombstone not set");
        co_await ex.respond_error(413, "request too large for Kafka: " + delivered->error);
        co_return false;
    }
    if (!delivered || !delivered->ok) {
        ++st.stats.rejected;
        // The record may still arrive later: the tombstone keeps a worker
        // from working for a session its client was told failed.
        spawn_record(st, cancel_failed(st, s.id),
                     "session " + s.id + ": refused, but its tombstone not set");
        std::string reason = delivered ? delivered->error : "no delivery report in time";
        http::response refused = refused_session(s.id, "Kafka did not take the request: " + reason);
        co_await ex.respond(std::move(refused));
        co_return false;
    }
    auto ack_deadline = coro::clock::now() + coro::seconds(st.cfg.ack_timeout);

    bool ok = co_await send_headers(s, ex);
    if (!ok)
        co_return false;
    ++st.stats.sessions_started;
    s.stream.on_stream_started(coro::clock::now(), ack_deadline);
    histograms::observe(st.timings.setup, s.stream.started_at() - s.received);
    co_return true;
}

/// GET …/events after the checks: subscribe, make sure the session exists,
/// send the headers; true once the stream is open.
coro::awaitable<bool> open_events(session& s, http::exchange& ex) {
    gateway::state& st = s.st;
    s.stream.begin_replay(); // live events wait for the replay: no gap, no duplicate
    std::string failure = co_await subscribe(s);
    co_await coro::throw_if_cancelled();
    std::optional<redis::reply> exists;
    if (failure.empty()) {
        exists = co_await command(s, log_exists_command(s.id));
        if (!exists || exists->is_error())
            failure = "Redis unavailable";
    }
    if (!failure.empty()) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, failure);
        co_return false;
    }
    if (exists->integer == 0) {
        co_await ex.respond_error(404, "no such session, or its log has expired");
        co_return false;
    }
    s.session_exists = true;
    bool ok = co_await send_headers(s, ex);
    if (!ok)
        co_return false;
    ++st.stats.event_streams_started;
    s.stream.on_stream_started(coro::clock::now());
    co_return true;
}

/// Where the replay starts: after the cursor when the log holds it, else
/// (with a reset event) at the oldest retained entry. Nullopt: Redis failed.
coro::awaitable<std::optional<std::string>> replay_start(session& s, const std::string& cursor) {
    if (cursor.empty())
        co_return "-";
    if (wire::entry_id::parse(cursor)) {
        std::optional<redis::reply> r =
            co_await command(s, log_range_command(s.id, cursor, cursor));
        if (!r || r->is_error())
            co_return std::nullopt;
        if (r->elements.size() == 1) {
            const redis::reply& fields = r->elements[0].elements.at(1);
            if (fields.elements.size() >= 2)
                s.act(s.stream.on_cursor(wire::recorded_message(cursor, fields.elements[1].value)));
            co_return "(" + cursor;
        }
    }
    ++s.st.stats.resets;
    s.act(s.stream.on_reset("event " + cursor +
                            " is not in the session's log (trimmed, expired or never recorded)"));
    co_return "-";
}

/// What an `Idempotency-Key` says about a POST.
struct claim {
    enum class outcome { create, join, conflict, failed } what = outcome::failed;
    std::string id; ///< the session to create, or to join
};

std::string claim_command(const std::string& key, const std::string& value,
                          const std::string& ttl) {
    return redis::make_command({"SET", wire::idempotency_key(key), value, "NX", "GET", "EX", ttl});
}
std::string drop_log_command(const std::string& id) {
    return redis::make_command({"DEL", wire::log_key(id)});
}

/// Claims `key` for a new session whose log exists before the claim does
/// (so whoever reads the claim finds the session), or names the session
/// that holds it already. A lost race drops the log it made for nothing.
coro::awaitable<claim> claim_idempotency(gateway::state& st, std::string key,
                                         std::string body_hash) {
    std::string id = wire::make_session_id();
    std::string ttl = log_ttl(st);
    try {
        redis::reply opened = co_await open_log(st, id, ttl);
        if (opened.is_error())
            co_return claim{};
        redis::reply r =
            co_await st.commands.async_exec(claim_command(key, id + ":" + body_hash, ttl));
        if (r.type == redis::resp_type::nil)
            co_return claim{claim::outcome::create, id};
        if (r.is_error())
            co_return claim{};
        co_await st.commands.async_exec(drop_log_command(id));
        std::size_t colon = r.value.find(':');
        if (colon == std::string::npos || r.value.substr(colon + 1) != body_hash)
            co_return claim{claim::outcome::conflict, {}};
        co_return claim{claim::outcome::join, r.value.substr(0, colon)};
    } catch (const boost::system::system_error&) {
        co_return claim{};
    }
}

/// Room for one more stream: not draining, not at --max-sessions (else 503).
coro::awaitable<bool> admit(gateway::state& st, http::exchange& ex) {
    if (st.stopping) {
        co_await ex.respond_error(503, "server shutting down");
        co_return false;
    }
    if (st.sessions.size() >= st.cfg.max_sessions) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, "too many sessions (" + std::to_string(st.cfg.max_sessions) +
                                           ")");
        co_return false;
    }
    co_return true;
}

/// The resume cursor: `Last-Event-ID` (EventSource sends it when it
/// reconnects), else `?last_event_id=` (a page's first connection).
std::string cursor_of(const http::request& req) {
    if (auto header = req.find("Last-Event-ID"))
        return std::string(*header);
    return req.query("last_event_id").value_or("");
}

/// Opens a stream of its kind; true once its headers are out (not a
/// coroutine: no `?:` between awaitables).
coro::awaitable<bool> open(session& s, http::exchange& ex) {
    if (s.kind == detail::stream_kind::creator)
        return open_stream(s, ex);
    return open_events(s, ex);
}

/// What a request that may stream has been admitted to.
struct stream_start {
    std::string id;
    detail::stream_kind kind = detail::stream_kind::creator;
    std::string cursor;      ///< subscribers: where the replay starts
    bool log_opened = false; ///< the idempotency claim opened the session's log already
};

/// POST /v1/react/sessions before it streams: the checks of §1, room for
/// it, and its `Idempotency-Key`; nullopt once it has been answered.
coro::awaitable<std::optional<stream_start>> admit_create(gateway::state& st, http::exchange& ex) {
    auto content_type = ex.req().find("Content-Type");
    if (!content_type || !wire::is_json_media_type(*content_type)) {
        co_await ex.respond_error(415, "Content-Type must be application/json");
        co_return std::nullopt;
    }
    if (auto checked = wire::check_session_request(ex.req().body); !checked) {
        co_await ex.respond_error(wire::http_status(checked.error()), checked.error().message());
        co_return std::nullopt;
    }
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    stream_start start;
    auto key = ex.req().find("Idempotency-Key");
    if (!key) {
        start.id = wire::make_session_id();
        co_return start;
    }
    if (!wire::is_idempotency_key(*key)) {
        co_await ex.respond_error(400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
        co_return std::nullopt;
    }
    claim c = co_await claim_idempotency(st, std::string(*key), wire::sha256_hex(ex.req().body));
    if (c.what == claim::outcome::failed) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, "Redis unavailable");
        co_return std::nullopt;
    }
    if (c.what == claim::outcome::conflict) {
        ++st.stats.idempotency_conflicts;
        co_await ex.respond_error(409, "this Idempotency-Key was used with another body");
        co_return std::nullopt;
    }
    if (c.what == claim::outcome::join) {
        // The session exists: follow it from its start, as GET …/events does.
        ++st.stats.idempotent_joins;
        start.kind = detail::stream_kind::joiner;
    }
    start.id = std::move(c.id);
    start.log_opened = true;
    co_return start;
}

/// GET …/events before it streams: its token, room for it, its cursor.
coro::awaitable<std::optional<stream_start>> admit_events(gateway::state& st, http::exchange& ex) {
    std::optional<std::string> id = co_await authorize(st, ex);
    if (!id)
        co_return std::nullopt;
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    co_return stream_start{std::move(*id), detail::stream_kind::subscriber, cursor_of(ex.req())};
}

enum class stream_route : std::uint8_t { create, events };

// Not a coroutine: no `?:` between awaitables.
coro::awaitable<std::optional<stream_start>> admit_stream(gateway::state& st, http::exchange& ex,
                                                          stream_route route) {
    if (route == stream_route::create)
        return admit_create(st, ex);
    return admit_events(st, ex);
}

/// A request on a stream route, up to its headers: the checks, then the
/// session's opening raced by the client hanging up (whichever ends first
/// cancels the other: a client that leaves during the subscribe or the
/// produce cancels them). Once the headers are out the session takes the
/// connection and this frame, like the server's for the connection, is
/// freed: an idle stream holds no coroutine.
coro::awaitable<void> run_stream(gateway::state& st, http::exchange& ex, stream_route route) {
    coro::clock::time_point received = coro::clock::now();
    std::optional<stream_start> start = co_await admit_stream(st, ex, route);
    if (!start)
        co_return;
    auto s = std::make_shared<session>(st, std::move(start->id), start->kind);
    s->received = received;
    s->session_exists = start->log_opened;
    auto [order, open_error, streaming, watch_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(st.ex, open(*s, ex), asio::deferred),
            ex.async_wait_readable(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 1) { // the client left first
        ex.close_after();
        if (s->session_exists)
            note_abandoned(st, s->id); // unless someone comes back in time
        co_return;
    }
    if (open_error)
        std::rethrow_exception(open_error);
    if (streaming)
        s->attach(ex.take_stream(), std::move(start->cursor));
}

} // namespace

/// Streams the log after `cursor` in pages, each written before the next is
/// read (a replay never holds the whole log, and a slow client slows only
/// its own replay), then releases the live events held meanwhile. False
/// once the client is gone.
coro::awaitable<bool> session::replay(session& s, std::string cursor) {
    std::optional<std::string> start = co_await replay_start(s, cursor);
    const std::size_t page = std::min<std::size_t>(256, s.st.cfg.max_queue);
    const std::string count = std::to_string(page);
    std::string buffer;
    while (start && s.stream.open()) {
        std::optional<redis::reply> r =
            co_await command(s, log_range_command(s.id, *start, "+", count));
        if (!r || r->is_error()) {
            start.reset();
            break;
        }
        for (const redis::reply& entry : r->elements) {
            if (entry.elements.size() != 2 || entry.elements[1].elements.size() < 2 ||
                entry.elements[1].elements[0].value != wire::log_message_field)
                continue; // not an entry a recorder wrote
            const std::string& entry_id = entry.elements[0].value;
            s.act(s.stream.on_replayed(
                wire::recorded_message(entry_id, entry.elements[1].elements[1].value),
                coro::clock::now()));
            start = "(" + entry_id;
        }
        bool more = co_await write_ready(s, buffer);
        if (!more)
            co_return false;
        if (r->elements.size() < page && !s.stream.take_replay_overflow())
            break; // the log is read; what came meanwhile is held
    }
    if (!start)
        s.act(s.stream.on_lost());
    s.act(s.stream.end_replay(coro::clock::now()));
    co_return true; // what is ready now is written once the writer is done
}

std::string log_exists_command(const std::string& id) {
    return redis::make_command({"EXISTS", wire::log_key(id)});
}

const std::string& session_id(const session& s) noexcept {
    return s.id;
}

void flush_streams(gateway::state& st) {
    std::vector<session*> batch;
    batch.swap(st.unflushed);
    for (session* s : batch)
        s->flush();
    batch.clear();
    if (st.unflushed.empty())
        st.unflushed.swap(batch); // keep the capacity: no allocation per read
}

void end_session(session& s) {
    s.shutdown();
}

coro::clock::duration clock_period(const config& cfg) {
    double shortest =
        std::min({cfg.keepalive, cfg.ack_timeout, cfg.idle_timeout, cfg.write_timeout});
    return coro::seconds(std::clamp(shortest / 4, 0.01, 0.25));
}

coro::awaitable<void> watch_sessions(gateway::state& st) {
    asio::steady_timer tick(st.ex);
    const auto period = clock_period(st.cfg);
    for (;;) {
        tick.expires_after(period);
        co_await tick.async_wait(asio::use_awaitable);
        auto now = coro::clock::now();
        for (auto it = st.sessions.begin(); it != st.sessions.end();) {
            session* s = *it++; // a tick may end it, and so take it off the list
            s->on_tick(now);
        }
        reap_abandoned(st, now);
    }
}

coro::awaitable<void> serve_session(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::create);
}

coro::awaitable<void> serve_events(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::events);
}

} // namespace ssebridge::gateway
