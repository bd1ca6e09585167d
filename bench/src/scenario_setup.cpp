#include "scenarios.hpp"

#include "streams.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/request.hpp>

#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace ssebridge::bench {

namespace {
// The built-in fast worker of the setup scenario: acknowledges and ends
// every request it consumes, at once.
coro::awaitable<void> ack_requests(run_state& st, kafka::consumer& consumer) {
    for (;;) {
        kafka::record r = co_await consumer.async_receive();
        auto req = wire::parse_kafka_record(r.value);
        if (!req)
            continue;
        std::string channel = wire::session_channel(req->session_id);
        co_await st.publishers[0]->publish(channel, ack_event);
        co_await st.publishers[0]->publish(channel, final_event);
    }
}

// One client of the setup scenario: sessions one after another on one
// keep-alive connection, each timed from POST to worker_ack.
coro::awaitable<void> open_sessions(run_state& st, std::size_t* remaining, steady::time_point end) {
    test::http_client client(co_await asio::this_coro::executor);
    co_await client.connect(st.gateway);
    while (*remaining > 0 && steady::now() < end) {
        --*remaining;
        auto start = steady::now();
        co_await client.send(test::post_request(R"({"user_query":"setup"})"));
        test::http_head head = co_await client.read_head();
        if (head.status != 200)
            throw std::runtime_error("POST answered " + std::to_string(head.status));
        bool acked = false;
        for (;;) {
            std::optional<sse::message> m = co_await client.next_message();
            if (!m)
                break;
            if (!acked && !m->is_comment && kind_of(m->data) == wire::event_kind::ack) {
                acked = true;
                st.got.latency_us.push_back(static_cast<std::uint32_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start)
                        .count()));
                ++st.got.delivered;
            }
        }
        if (!acked)
            throw std::runtime_error("a session ended without worker_ack");
    }
}
} // namespace

coro::awaitable<void> scenario_setup(run_state& st) {
    if (st.s.kafka_brokers.empty())
        throw std::invalid_argument("setup needs --kafka-brokers (the gateway's kafka.bootstrap=)");
    auto ex = co_await asio::this_coro::executor;
    co_await connect_publishers(st);
    kafka::settings conf =
        kafka::group_settings(st.s.kafka_brokers, "ssebridge-bench-" + st.run_id);
    conf["log_level"] = "3";
    conf["fetch.wait.max.ms"] = "1"; // a fast worker does not wait for batches
    kafka::consumer consumer(ex, conf, {st.s.kafka_topic});
    coro::task_group worker(ex);
    worker.spawn(ack_requests(st, consumer));

    // Warm up: the consumer joins its group before the clock starts.
    std::size_t warm = 1;
    co_await open_sessions(st, &warm, steady::now() + 60s);
    st.got.reset();

    std::size_t remaining = st.s.sessions;
    auto start = steady::now();
    auto end = start + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(st.s.duration));
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.concurrency; ++i)
        clients.spawn(open_sessions(st, &remaining, end));
    co_await clients.async_wait();
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    st.report["seconds"] = secs;
    st.report["sessions_per_second"] = static_cast<double>(st.got.delivered) / secs;
    st.report["concurrency"] = st.s.concurrency;
    worker.cancel();
    co_await worker.async_wait();
}

} // namespace ssebridge::bench
