// The session pipeline: subscribe → produce → headers → ack → relay, with the
// disconnect watch racing it; the gateway's clock keeps every session's time.
#include "state.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/gateway/detail/event.hpp>
#include <ssebridge/gateway/session_id.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/sse/encode.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <sstream>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using detail::event_kind;

namespace {
std::string describe_seconds(double s) {
    std::ostringstream out;
    out << s << " s";
    return out.str();
}
} // namespace

/// One client's session: the sink of its Redis channel, and the bytes on
/// their way from it to the client.
///
/// Frames are appended by the Redis reader straight into `pending` (one
/// buffer, no object per event); the writer swaps it out and sends it as one
/// chunk. A session has no timer of its own: the gateway's clock
/// (`watch_sessions`) looks at every session a few times per second.
class session final : public redis::subscriber::sink {
public:
    session(gateway::state& st, std::string id, http::exchange& ex)
        : st(st)
        , id(std::move(id))
        , ex(ex)
        , wake(st.ex)
        , self_(st.sessions.insert(st.sessions.end(), this)) {}
    ~session() { st.sessions.erase(self_); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_message(std::string_view payload) override {
        std::optional<event_kind> kind = detail::inspect_event(payload);
        if (!kind) {
            ++st.stats.malformed_messages;
            return;
        }
        if (ended || final_queued)
            return; // nothing goes out after FinalAnswerStreamEnd
        last_event = coro::clock::now();
        bool final = *kind == event_kind::final;
        if (acked) {
            queue(payload);
            final_queued = final;
        } else if (*kind == event_kind::ack) {
            acked = true;
            queue(payload);
            pending += held; // events that came before the ack, in order
            pending_events += held_events;
            final_queued = final_held;
            std::string().swap(held);
        } else if (final_held) {
            return; // held after a held FinalAnswerStreamEnd: never sent
        } else if (held_events >= st.cfg.max_queue) {
            end("more than " + std::to_string(st.cfg.max_queue) +
                " events arrived before worker_ack");
        } else {
            detail::append_event_frame(held, payload);
            ++held_events;
            final_held = final;
        }
    }

    void on_lost() override {
        ++st.stats.backend_lost;
        end("backend lost: the Redis connection closed");
    }

    /// Ends the stream with an error event once what is queued is written.
    void end(std::string reason) {
        if (!ended) {
            ended = true;
            end_reason = std::move(reason);
            wake.notify();
        }
    }

    /// Starts the clocks once the client has the headers.
    void start_stream(coro::clock::time_point ack_by) {
        ack_deadline = ack_by;
        last_write = coro::clock::now();
        streaming = true;
    }

    /// What the gateway's clock does at `now`: a keepalive comment after a
    /// quiet period, the ack and idle timeouts, and dropping a client whose
    /// write has waited longer than the write timeout.
    void check_deadlines(coro::clock::time_point now) {
        const config& cfg = st.cfg;
        if (writing && !write_timed_out &&
            now >= write_started + coro::seconds(cfg.write_timeout)) {
            write_timed_out = true;
            ex.abort(); // the write fails, and with it the session
            return;
        }
        if (!streaming || ended)
            return;
        if (!acked && now >= ack_deadline) {
            ++st.stats.ack_timeouts;
            end("worker did not acknowledge within " + describe_seconds(cfg.ack_timeout));
        } else if (acked && now >= last_event + coro::seconds(cfg.idle_timeout)) {
            ++st.stats.idle_timeouts;
            end("no event for " + describe_seconds(cfg.idle_timeout));
        } else if (now >= last_write + coro::seconds(cfg.keepalive) && !writing &&
                   pending.empty()) {
            pending.append(sse::keepalive_frame);
            last_write = now; // the next one a full period later
            wake.notify();
        }
    }

    gateway::state& st;
    const std::string id;
    http::exchange& ex;
    redis::subscriber::subscription subscription; ///< the session's channel
    coro::notifier wake;                          ///< wakes the writer: bytes queued, or the end
    std::string pending;                          ///< frames not yet written, in order
    std::string held;                             ///< events that came before worker_ack
    std::string end_reason;
    std::size_t pending_events = 0;
    std::size_t held_events = 0;
    coro::clock::time_point ack_deadline{};
    coro::clock::time_point last_event = coro::clock::now();
    coro::clock::time_point last_write{};
    coro::clock::time_point write_started{};
    bool streaming = false;
    bool acked = false;
    bool final_held = false;   ///< FinalAnswerStreamEnd came before the ack
    bool final_queued = false; ///< FinalAnswerStreamEnd is in `pending`
    bool ended = false;
    bool writing = false;
    bool write_timed_out = false;

private:
    void queue(std::string_view payload) {
        if (pending_events >= st.cfg.max_queue) {
            ++st.stats.slow_clients;
            std::string().swap(pending); // free the backlog now; the client gets only the error
            pending_events = 0;
            end("client too slow: more than " + std::to_string(st.cfg.max_queue) +
                " events waiting");
            return;
        }
        detail::append_event_frame(pending, payload);
        ++pending_events;
        wake.notify();
    }

    std::list<session*>::iterator self_;
};

namespace {

/// One write to the client, watched by the gateway's clock.
coro::awaitable<bool> write(session& s, http::exchange& ex, std::string_view bytes, bool last) {
    s.writing = true;
    s.write_started = coro::clock::now();
    bool ok = co_await ex.write(bytes, last);
    s.writing = false;
    s.last_write = coro::clock::now();
    co_return ok;
}

/// Writes what the Redis reader queues, one chunk per wake-up, until
/// FinalAnswerStreamEnd is out or the session ends (then an error event).
coro::awaitable<void> relay(session& s, http::exchange& ex) {
    std::string writing;
    for (;;) {
        while (s.pending.empty() && !s.ended) {
            co_await s.wake.async_wait();
        }
        if (s.pending.empty())
            break; // ended, and everything before the end is out
        std::swap(s.pending, writing);
        std::size_t events = s.pending_events;
        s.pending_events = 0;
        bool last = s.final_queued;
        bool ok = co_await write(s, ex, writing, last);
        if (!ok)
            co_return; // the client is gone: nothing more to say
        s.st.stats.events_relayed += events;
        if (last) {
            ++s.st.stats.sessions_completed;
            co_return;
        }
        // Keep a working buffer, but not one a burst has blown up.
        if (writing.capacity() > 64 * 1024)
            std::string().swap(writing);
        writing.clear();
    }
    std::string frame = detail::error_frame(s.end_reason);
    co_await write(s, ex, frame, true);
}

/// Subscribes, hands the request to Kafka and sends the headers; true once
/// the stream is open. Its own coroutine: its frame (and the request) is
/// freed before the relay runs for as long as the stream lasts.
coro::awaitable<bool> open_stream(session& s, http::exchange& ex) {
    gateway::state& st = s.st;
    std::string failure;
    try {
        s.subscription = co_await st.subscriber.async_subscribe("sse_session:" + s.id, s);
    } catch (const boost::system::system_error& e) {
        failure = e.code() == asio::error::not_connected ? "Redis unavailable"
                                                         : "Redis: " + e.code().message();
    }
    co_await coro::throw_if_cancelled();
    if (!failure.empty()) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, failure);
        co_return false;
    }

    // The worker may answer at once: the subscription is confirmed first.
    std::optional<kafka::delivery> delivered;
    {
        std::string record = detail::kafka_record(s.id, ex.req().body); // freed once delivered
        delivered = co_await coro::with_timeout(
            st.producer.async_produce(st.cfg.kafka_topic, s.id, record),
            coro::seconds(st.cfg.kafka_timeout + 1)); // librdkafka's own limit comes first
    }
    if (!delivered || !delivered->ok) {
        ++st.stats.rejected;
        std::string reason = delivered ? delivered->error : "no delivery report in time";
        co_await ex.respond_error(503, "Kafka did not take the request: " + reason);
        co_return false;
    }
    auto ack_deadline = coro::clock::now() + coro::seconds(st.cfg.ack_timeout);

    const http::header headers[] = {
        {"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}, {"X-Session-Id", s.id}};
    bool ok = co_await ex.start_stream("text/event-stream; charset=utf-8", headers);
    if (!ok)
        co_return false;
    ex.drop_request();
    ++st.stats.sessions_started;
    s.start_stream(ack_deadline);
    co_return true;
}

coro::awaitable<void> run_session(session& s, http::exchange& ex) {
    bool streaming = co_await open_stream(s, ex);
    if (streaming)
        co_await relay(s, ex);
}

} // namespace

void end_session(session& s, std::string reason) {
    s.end(std::move(reason));
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
        for (session* s : st.sessions)
            s->check_deadlines(now);
    }
}

coro::awaitable<void> serve_session(gateway::state& st, http::exchange& ex) {
    auto content_type = ex.req().find("Content-Type");
    if (!content_type || !detail::is_json_media_type(*content_type)) {
        co_await ex.respond_error(415, "Content-Type must be application/json");
        co_return;
    }
    if (auto rejected = detail::check_session_request(ex.req().body)) {
        co_await ex.respond_error(rejected->status, rejected->reason);
        co_return;
    }
    if (st.stopping) {
        co_await ex.respond_error(503, "server shutting down");
        co_return;
    }
    if (st.sessions.size() >= st.cfg.max_sessions) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, "too many sessions (" + std::to_string(st.cfg.max_sessions) +
                                           ")");
        co_return;
    }

    session s(st, make_session_id(), ex);
    // Whichever ends first cancels the other: the pipeline finishing (or
    // failing its write, when the clock gives up on a client that stopped
    // reading), or the client hanging up.
    auto [order, pipeline_error, watch_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(st.ex, run_session(s, ex), asio::deferred),
            ex.async_wait_readable(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (s.write_timed_out) {
        ++st.stats.write_timeouts;
        ex.close_after();
    } else if (order[0] == 1) {
        ++st.stats.client_disconnects;
        ex.close_after();
    } else if (pipeline_error) {
        std::rethrow_exception(pipeline_error);
    }
}

} // namespace ssebridge::gateway
