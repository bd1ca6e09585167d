#include "scenarios.hpp"

#include "streams.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/worker/publish.hpp>
#include <ssebridge/worker/requests.hpp>

#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace ssebridge::bench {

namespace {
// The cancel scenario's worker: acknowledges, then streams an event every
// 10 ms until its session is cancelled (through the worker library).
coro::awaitable<void> endless_answer(worker::request, worker::session_writer& events) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    co_await events.publish(wire::event_type::worker_ack);
    for (int i = 0; i < 6000; ++i) {
        co_await events.publish("FinalAnswerStream", R"({"char":"x"})");
        pause.expires_after(10ms);
        co_await pause.async_wait(asio::use_awaitable);
    }
    co_await events.publish(wire::event_type::final_answer_end);
}

struct cancel_results {
    std::vector<std::uint32_t> stop_us; ///< cancel sent → `cancelled` on the stream
    std::size_t confirmed = 0;          ///< cancels answered 200
    std::size_t in_flight = 0;          ///< events between sending the cancel and `cancelled`
    std::vector<std::string> ids;       ///< the sessions, to check their logs after
};

// One session of the cancel scenario: open it, read a few events, cancel it
// and time how long until the stream ends with `cancelled`.
coro::awaitable<void> cancel_one(run_state& st, cancel_results& out) {
    auto ex = co_await asio::this_coro::executor;
    stream s;
    co_await open_stream(st, 0, &s);
    out.ids.push_back(s.id);
    std::size_t seen = 0;
    while (seen < 5) {
        std::optional<sse::message> m = co_await s.client->next_message();
        if (!m)
            throw std::runtime_error("a stream ended before its cancel");
        if (!m->is_comment && kind_of(m->data) != wire::event_kind::ack)
            ++seen;
    }
    test::http_client canceller(ex);
    co_await canceller.connect(st.gateway);
    auto sent = steady::now();
    co_await canceller.send(test::post_request("", "", "/v1/react/sessions/" + s.id + "/cancel",
                                               "Authorization: Bearer " + s.token + "\r\n"));
    for (;;) {
        std::optional<sse::message> m = co_await s.client->next_message();
        if (!m)
            throw std::runtime_error("a stream ended without cancelled");
        if (m->is_comment)
            continue;
        if (kind_of(m->data) == wire::event_kind::cancelled)
            break;
        ++out.in_flight;
    }
    out.stop_us.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - sent).count()));
    test::http_head head = co_await canceller.read_head();
    if (head.status == 200)
        ++out.confirmed;
}

std::string log_command(const std::string& id) {
    return redis::make_command({"XRANGE", wire::log_key(id), "-", "+"});
}
} // namespace

coro::awaitable<void> scenario_cancel(run_state& st) {
    if (st.s.kafka_brokers.empty())
        throw std::invalid_argument(
            "cancel needs --kafka-brokers (the gateway's kafka.bootstrap=)");
    auto ex = co_await asio::this_coro::executor;
    redis::client redis(ex, st.redis_cfg);
    co_await redis.async_connect();
    redis::subscriber control(ex, st.redis_cfg);
    kafka::settings conf =
        kafka::group_settings(st.s.kafka_brokers, "ssebridge-bench-" + st.run_id);
    conf["log_level"] = "3";
    conf["auto.offset.reset"] = "latest"; // not the requests of earlier runs
    kafka::consumer consumer(ex, conf, {st.s.kafka_topic});
    coro::task_group background(ex);
    background.spawn(discard(redis.async_run()));
    background.spawn(control.async_run());
    co_await control.async_wait_connected();
    background.spawn(worker::serve_requests(consumer, redis, control, endless_answer));

    // The worker joins its group before the clock starts; requests made before
    // it has its partition are not its own (they time out), so try again.
    for (int attempt = 1;; ++attempt) {
        cancel_results warm;
        std::exception_ptr failed;
        try {
            co_await cancel_one(st, warm);
        } catch (const std::exception&) {
            failed = std::current_exception();
        }
        if (!failed)
            break;
        if (attempt == 10)
            std::rethrow_exception(failed);
    }
    cancel_results got;
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.sessions; ++i) {
        co_await clients.async_wait_fewer_than(st.s.concurrency);
        clients.spawn(cancel_one(st, got));
    }
    co_await clients.async_wait();
    // After `cancelled`, the log holds nothing more.
    std::size_t after = 0;
    for (const std::string& id : got.ids) {
        redis::reply log = co_await redis.async_exec(log_command(id));
        bool past = false;
        for (const redis::reply& entry : log.elements) {
            if (past)
                ++after;
            else if (kind_of(entry.elements.at(1).elements.at(1).value) ==
                     wire::event_kind::cancelled)
                past = true;
        }
    }
    std::sort(got.stop_us.begin(), got.stop_us.end());
    st.report["cancel"] = {{"sessions", got.ids.size()},
                           {"confirmed", got.confirmed},
                           {"stop_p50_us", percentile(got.stop_us, 50)},
                           {"stop_p99_us", percentile(got.stop_us, 99)},
                           {"stop_max_us", percentile(got.stop_us, 100)},
                           {"events_in_flight", got.in_flight},
                           {"events_after_cancelled", after}};
    background.cancel();
    co_await background.async_wait();
    consumer.close();
    redis.close();
}

} // namespace ssebridge::bench
