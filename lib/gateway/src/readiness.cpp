// GET /readyz: whether new sessions can start here, checked end to end and
// periodically (never per probe): a canary published through Redis to this
// gateway's own channel must come back within --redis-timeout, and the Kafka
// producer must hold a broker connection.
#include "state.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace ssebridge::gateway {

namespace asio = boost::asio;

namespace {

/// Hears the canary channel: the expected message sets `arrived`.
struct canary_sink final : redis::subscriber::sink {
    explicit canary_sink(coro::executor ex)
        : arrived(std::move(ex)) {}
    void on_message(std::string_view payload) override {
        if (payload == expected)
            arrived.set();
    }
    void on_lost() override { lost = true; }
    coro::event arrived;
    std::string expected;
    bool lost = false;
};

// One round: (re)subscribe if needed, publish, wait. Empty: it came back.
coro::awaitable<std::string> canary_round(gateway::state& st, canary_sink& sink,
                                          redis::subscriber::subscription& held,
                                          const std::string& channel, std::uint64_t round) {
    if (!st.subscriber.connected())
        co_return "Redis unavailable (subscriber)";
    if (!st.commands.connected())
        co_return "Redis unavailable (commands)";
    try {
        if (sink.lost || !st.canary_subscribed) {
            sink.lost = false;
            st.canary_subscribed = false;
            held = co_await st.subscriber.async_subscribe(channel, sink);
            st.canary_subscribed = true;
        }
        sink.expected = std::to_string(round);
        sink.arrived.reset();
        co_await st.commands.async_publish(channel, sink.expected);
    } catch (const boost::system::system_error& e) {
        co_return "Redis: " + e.code().message();
    }
    bool back =
        co_await coro::with_timeout(sink.arrived.async_wait(), coro::seconds(st.cfg.redis_timeout));
    if (!back)
        co_return "Redis Pub/Sub did not deliver the canary within --redis-timeout";
    co_return std::string();
}

} // namespace

coro::awaitable<void> watch_readiness(gateway::state& st) {
    auto ex = co_await asio::this_coro::executor;
    const std::string channel = "sse_canary:" + wire::make_token_secret().substr(0, 16);
    canary_sink sink(ex);
    redis::subscriber::subscription held;
    asio::steady_timer pause(ex);
    for (std::uint64_t round = 1;; ++round) {
        std::string problem = co_await canary_round(st, sink, held, channel, round);
        if (problem.empty()) {
            std::optional<int> brokers = st.producer.brokers_up();
            if (!brokers)
                problem = "Kafka: no broker state yet";
            else if (*brokers == 0)
                problem = "Kafka: no broker reachable";
        }
        if (problem != st.not_ready) {
            if (problem.empty())
                log::info("ready");
            else
                log::warn("not ready: ", problem);
            st.not_ready = problem;
        }
        pause.expires_after(readiness_period);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

} // namespace ssebridge::gateway
