// The session pipeline: subscribe → produce → headers → ack → relay, with the
// keepalive ticker and the disconnect watch racing it in one parallel group.
#include "state.hpp"

#include <ssebridge/coro/idle_timer.hpp>
#include <ssebridge/coro/mailbox.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/gateway/detail/event.hpp>
#include <ssebridge/gateway/session_id.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/sse/encode.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/system/system_error.hpp>

#include <sstream>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using detail::event_kind;
using detail::frame;

/// One client's session: the sink of its Redis channel and the mailbox
/// between the Redis reader and the client's writer.
class session final : public redis::subscriber::sink {
public:
    session(gateway::state& st, std::string id)
        : st(st)
        , id(std::move(id))
        , box(st.ex, st.cfg.max_queue)
        , idle(st.ex, coro::seconds(st.cfg.keepalive))
        , self_(st.sessions.insert(st.sessions.end(), this)) {}
    ~session() { st.sessions.erase(self_); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_message(std::string_view payload) override {
        std::optional<frame> f = detail::make_event_frame(payload);
        if (!f) {
            ++st.stats.malformed_messages;
            return;
        }
        if (box.push(std::move(*f)) == coro::push_result::full) {
            ++st.stats.slow_clients;
            box.clear(); // free the backlog now; the client gets only the error
            end("client too slow: more than " + std::to_string(box.capacity()) + " events waiting");
        }
    }

    void on_lost() override {
        ++st.stats.backend_lost;
        end("backend lost: the Redis connection closed");
    }

    /// Ends the stream with an error event once what is queued is written.
    void end(std::string reason) {
        if (!box.closed()) {
            end_reason = std::move(reason);
            box.close();
        }
    }

    gateway::state& st;
    const std::string id;
    coro::mailbox<frame> box;
    coro::idle_timer idle; ///< keepalive clock: restarted by every write
    std::string end_reason;

private:
    std::list<session*>::iterator self_;
};

namespace {

std::string describe_seconds(double s) {
    std::ostringstream out;
    out << s << " s";
    return out.str();
}

// Writes an error event and ends the response.
coro::awaitable<void> end_with_error(http::exchange& ex, std::string_view reason) {
    std::string frame = detail::error_frame(reason);
    bool ok = co_await ex.write(frame);
    if (ok)
        co_await ex.finish();
}

/// Relays the mailbox to the client: holds events until worker_ack, then
/// writes each batch in one write, until FinalAnswerStreamEnd or an end.
coro::awaitable<void> relay(session& s, http::exchange& ex, coro::clock::time_point ack_deadline) {
    const config& cfg = s.st.cfg;
    const auto idle_limit = coro::seconds(cfg.idle_timeout);
    std::vector<frame> batch;
    std::vector<frame> held; // events that came before worker_ack, in order
    std::vector<std::string> out;
    bool acked = false;
    auto last_event = coro::clock::now();
    std::string failure;
    for (;;) {
        auto deadline = acked ? last_event + idle_limit : ack_deadline;
        bool ready = co_await s.box.async_wait(deadline);
        if (!ready) {
            if (acked) {
                ++s.st.stats.idle_timeouts;
                failure = "no event for " + describe_seconds(cfg.idle_timeout);
            } else {
                ++s.st.stats.ack_timeouts;
                failure = "worker did not acknowledge within " + describe_seconds(cfg.ack_timeout);
            }
            break;
        }
        s.box.take_all(batch);
        out.clear();
        bool keepalive = false;
        bool final = false;
        std::size_t events = 0;
        // Appends one event frame to the write; true once the final one is in.
        auto emit = [&](frame& f) {
            out.push_back(std::move(f.bytes));
            ++events;
            return f.kind == event_kind::final;
        };
        for (frame& f : batch) {
            if (final)
                break; // nothing goes out after FinalAnswerStreamEnd
            if (f.keepalive) {
                keepalive = true;
                continue;
            }
            last_event = coro::clock::now();
            if (acked) {
                final = emit(f);
            } else if (f.kind == event_kind::ack) {
                acked = true;
                final = emit(f);
                for (frame& h : held)
                    if (!final)
                        final = emit(h);
                held.clear();
            } else if (held.size() >= cfg.max_queue) {
                failure = "more than " + std::to_string(cfg.max_queue) +
                          " events arrived before worker_ack";
                break;
            } else {
                held.push_back(std::move(f));
            }
        }
        if (!failure.empty())
            break;
        if (keepalive && out.empty())
            out.emplace_back(sse::keepalive_frame);
        if (!out.empty()) {
            bool ok = co_await ex.write(out);
            if (!ok)
                co_return; // the client is gone or stuck: nothing more to say
            s.st.stats.events_relayed += events;
            s.idle.touch();
        }
        if (final) {
            ++s.st.stats.sessions_completed;
            co_await ex.finish();
            co_return;
        }
        if (s.box.closed() && s.box.empty()) {
            failure = s.end_reason;
            break;
        }
    }
    co_await end_with_error(ex, failure);
}

coro::awaitable<void> run_session(session& s, http::exchange& ex) {
    gateway::state& st = s.st;
    redis::subscriber::subscription subscription;
    std::string failure;
    try {
        subscription = co_await st.subscriber.async_subscribe("sse_session:" + s.id, s);
    } catch (const boost::system::system_error& e) {
        failure = e.code() == asio::error::not_connected ? "Redis unavailable"
                                                         : "Redis: " + e.code().message();
    }
    co_await coro::throw_if_cancelled();
    if (!failure.empty()) {
        ++st.stats.rejected;
        co_await ex.respond_error(503, failure);
        co_return;
    }

    // The worker may answer at once: the subscription is confirmed first.
    std::string record = detail::kafka_record(s.id, ex.req().body);
    std::optional<kafka::delivery> delivered = co_await coro::with_timeout(
        st.producer.async_produce(st.cfg.kafka_topic, s.id, record),
        coro::seconds(st.cfg.kafka_timeout + 1)); // librdkafka's own limit comes first
    if (!delivered || !delivered->ok) {
        ++st.stats.rejected;
        std::string reason = delivered ? delivered->error : "no delivery report in time";
        co_await ex.respond_error(503, "Kafka did not take the request: " + reason);
        co_return;
    }
    auto ack_deadline = coro::clock::now() + coro::seconds(st.cfg.ack_timeout);

    const http::header headers[] = {
        {"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}, {"X-Session-Id", s.id}};
    bool ok = co_await ex.start_stream("text/event-stream; charset=utf-8", headers);
    if (!ok)
        co_return;
    ++st.stats.sessions_started;
    s.idle.start();
    co_await relay(s, ex, ack_deadline);
}

// Queues a keepalive comment whenever the client has had no write for a period.
coro::awaitable<void> tick_keepalives(session& s) {
    for (;;) {
        co_await s.idle.async_wait_idle();
        s.box.push(frame{std::string(sse::keepalive_frame), event_kind::other, true});
    }
}

} // namespace

void end_session(session& s, std::string reason) {
    s.end(std::move(reason));
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

    session s(st, make_session_id());
    // Whichever ends first cancels the others: the pipeline finishing, the
    // client hanging up, or (never on its own) the keepalive ticker.
    auto [order, pipeline_error, watch_error, ticker_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(st.ex, run_session(s, ex), asio::deferred),
            asio::co_spawn(st.ex, ex.wait_closed(), asio::deferred),
            asio::co_spawn(st.ex, tick_keepalives(s), asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 1) {
        ++st.stats.client_disconnects;
        ex.close_after();
    } else if (order[0] == 0 && pipeline_error) {
        std::rethrow_exception(pipeline_error);
    }
}

} // namespace ssebridge::gateway
