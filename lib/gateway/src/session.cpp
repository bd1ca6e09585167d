// The session pipeline: subscribe → produce → headers → ack → relay, with the
// disconnect watch racing it. The stream's decisions are its `stream_state`;
// this shell moves bytes, and the gateway's clock keeps every session's time.
#include "state.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/request.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using detail::step;

namespace {
detail::stream_limits stream_limits(const config& cfg) {
    return {cfg.max_queue, coro::seconds(cfg.ack_timeout), coro::seconds(cfg.idle_timeout),
            coro::seconds(cfg.keepalive), coro::seconds(cfg.write_timeout)};
}

void count_end(counters& c, wire::end_code code) {
    switch (code) {
    case wire::end_code::ack_timeout:
        ++c.ack_timeouts;
        break;
    case wire::end_code::idle_timeout:
        ++c.idle_timeouts;
        break;
    case wire::end_code::slow_client:
        ++c.slow_clients;
        break;
    case wire::end_code::write_timeout:
        ++c.write_timeouts;
        break;
    case wire::end_code::backend_lost:
        ++c.backend_lost;
        break;
    case wire::end_code::early_overflow:
    case wire::end_code::shutting_down:
        break;
    }
}
} // namespace

/// One client's session: the sink of its Redis channel, its stream's state,
/// and the connection the stream goes out on.
class session final : public redis::subscriber::sink {
public:
    session(gateway::state& st, std::string id, http::exchange& ex)
        : st(st)
        , id(std::move(id))
        , ex(ex)
        , wake(st.ex)
        , stream(stream_limits(st.cfg), coro::clock::now())
        , self_(st.sessions.insert(st.sessions.end(), this)) {}
    ~session() { st.sessions.erase(self_); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_message(std::string_view payload) override {
        act(stream.on_message(payload, coro::clock::now()));
    }
    void on_lost() override { act(stream.on_lost()); }
    void on_tick(coro::clock::time_point now) { act(stream.on_tick(now)); }
    void shutdown() { act(stream.on_shutdown()); }

    /// Does what the stream's state asks, and counts how it ended: the one
    /// place where a session touches the gateway's counters for its state.
    void act(step s) {
        switch (s) {
        case step::none:
            break;
        case step::wake:
            wake.notify();
            break;
        case step::malformed:
            ++st.stats.malformed_messages;
            break;
        case step::abort:
            ex.abort(); // the pending write fails, and with it the session
            break;
        }
        if (!counted_ && stream.end_code()) {
            counted_ = true;
            count_end(st.stats, *stream.end_code());
        }
    }

    gateway::state& st;
    const std::string id;
    http::exchange& ex;
    redis::subscriber::subscription subscription; ///< the session's channel
    coro::notifier wake;                          ///< wakes the writer
    detail::stream_state stream;

private:
    std::list<session*>::iterator self_;
    bool counted_ = false;
};

namespace {

/// Writes what the stream's state has ready, one chunk per wake-up, until
/// its last chunk is out or the client is gone.
coro::awaitable<void> relay(session& s) {
    std::string buffer;
    for (;;) {
        std::optional<detail::chunk> c = s.stream.take(buffer, coro::clock::now());
        if (!c) {
            if (s.stream.finished())
                co_return;
            co_await s.wake.async_wait();
            continue;
        }
        bool ok = co_await s.ex.write(buffer, c->last);
        if (!ok)
            co_return; // the client is gone: nothing more to say
        s.stream.on_written(coro::clock::now());
        s.st.stats.events_relayed += c->events;
        if (s.stream.completed())
            ++s.st.stats.sessions_completed;
        if (c->last)
            co_return;
        // Keep a working buffer, but not one a burst has blown up.
        if (buffer.capacity() > 64 * 1024)
            std::string().swap(buffer);
    }
}

/// Subscribes, hands the request to Kafka and sends the headers; true once
/// the stream is open. Its own coroutine: its frame (and the request) is
/// freed before the relay runs for as long as the stream lasts.
coro::awaitable<bool> open_stream(session& s, http::exchange& ex) {
    gateway::state& st = s.st;
    std::string failure;
    try {
        s.subscription = co_await st.subscriber.async_subscribe(wire::session_channel(s.id), s);
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
        std::string record = wire::kafka_record(s.id, ex.req().body); // freed once delivered
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
    s.stream.on_stream_started(coro::clock::now(), ack_deadline);
    co_return true;
}

coro::awaitable<void> run_session(session& s, http::exchange& ex) {
    bool streaming = co_await open_stream(s, ex);
    if (streaming)
        co_await relay(s);
}

} // namespace

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
        for (session* s : st.sessions)
            s->on_tick(now);
    }
}

coro::awaitable<void> serve_session(gateway::state& st, http::exchange& ex) {
    auto content_type = ex.req().find("Content-Type");
    if (!content_type || !wire::is_json_media_type(*content_type)) {
        co_await ex.respond_error(415, "Content-Type must be application/json");
        co_return;
    }
    if (auto checked = wire::check_session_request(ex.req().body); !checked) {
        co_await ex.respond_error(wire::http_status(checked.error()), checked.error().message());
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

    session s(st, wire::make_session_id(), ex);
    // Whichever ends first cancels the other: the pipeline finishing (or
    // failing its write, when the clock gives up on a client that stopped
    // reading), or the client hanging up.
    auto [order, pipeline_error, watch_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(st.ex, run_session(s, ex), asio::deferred),
            ex.async_wait_readable(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (s.stream.end_code() == wire::end_code::write_timeout) {
        ex.close_after();
    } else if (order[0] == 1) {
        ++st.stats.client_disconnects;
        ex.close_after();
    } else if (pipeline_error) {
        std::rethrow_exception(pipeline_error);
    }
}

} // namespace ssebridge::gateway
