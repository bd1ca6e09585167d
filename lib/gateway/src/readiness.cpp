// GET /readyz: whether new sessions can start here, checked end to end and
// periodically (never per probe): a canary published through Redis to this
// gateway's own channel (on a cluster: one through each master) must come
// back within --redis-timeout, and the Kafka producer must hold a broker
// connection.
#include "state.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <memory>
#include <vector>

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

/// One canary: a channel served by one master (on a cluster; the one server otherwise).
struct canary {
    canary(coro::executor ex, std::string channel)
        : channel(std::move(channel))
        , sink(std::move(ex)) {}
    std::string channel;
    canary_sink sink;
    redis::subscriber::subscription held;
    bool subscribed = false;
};
using canaries = std::vector<std::unique_ptr<canary>>;

// A canary for each master of the current slot map (the names follow the map).
void follow_map(gateway::state& st, canaries& all, const std::string& base) {
    std::vector<std::string> channels = st.redis.subscriber.channels_on_every_master(base);
    bool same = channels.size() == all.size() &&
                std::equal(channels.begin(), channels.end(), all.begin(),
                           [](const std::string& c, const auto& k) { return c == k->channel; });
    if (same)
        return;
    all.clear(); // unsubscribes
    for (std::string& channel : channels)
        all.push_back(std::make_unique<canary>(st.ex, std::move(channel)));
}

std::size_t subscribed(const canaries& all) {
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [](const auto& c) { return c->subscribed; }));
}

// One round: (re)subscribe where needed, publish each, wait for all. Empty: all came back.
coro::awaitable<std::string> canary_round(gateway::state& st, canaries& all, std::uint64_t round) {
    if (!st.redis.subscriber.connected())
        co_return "Redis unavailable (subscriber)";
    if (!st.redis.commands.connected())
        co_return "Redis unavailable (commands)";
    if (all.empty())
        co_return "Redis Cluster: no slot map yet";
    try {
        for (auto& c : all) {
            if (c->sink.lost || !c->subscribed) {
                c->sink.lost = false;
                c->subscribed = false;
                st.readiness.canaries = subscribed(all);
                c->held = co_await st.redis.subscriber.async_subscribe(c->channel, c->sink);
                c->subscribed = true;
                st.readiness.canaries = subscribed(all);
            }
            c->sink.expected = std::to_string(round);
            c->sink.arrived.reset();
            co_await st.redis.commands.async_publish(c->channel, c->sink.expected);
        }
    } catch (const boost::system::system_error& e) {
        co_return "Redis: " + e.code().message();
    }
    auto deadline = coro::clock::now() + coro::seconds(st.cfg.redis_timeout);
    for (auto& c : all) {
        auto left = std::max(deadline - coro::clock::now(), coro::clock::duration::zero());
        bool back = co_await coro::with_timeout(c->sink.arrived.async_wait(), left);
        if (!back)
            co_return "Redis Pub/Sub did not deliver the canary" +
                (all.size() > 1 ? " on " + c->channel : std::string()) + " within --redis-timeout";
    }
    co_return std::string();
}

} // namespace

coro::awaitable<void> watch_readiness(gateway::state& st) {
    auto ex = co_await asio::this_coro::executor;
    const std::string base = "sse_canary:" + wire::make_token_secret().substr(0, 16);
    canaries all;
    asio::steady_timer pause(ex);
    for (std::uint64_t round = 1;; ++round) {
        follow_map(st, all, base);
        st.readiness.canaries = subscribed(all);
        std::string problem = co_await canary_round(st, all, round);
        if (problem.empty()) {
            std::optional<int> brokers = st.kafka.producer.brokers_up();
            if (!brokers)
                problem = "Kafka: no broker state yet";
            else if (*brokers == 0)
                problem = "Kafka: no broker reachable";
        }
        if (problem != st.readiness.not_ready) {
            if (problem.empty())
                log::info("ready");
            else
                log::warn("not ready: ", problem);
            st.readiness.not_ready = problem;
        }
        pause.expires_after(readiness_period);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

} // namespace ssebridge::gateway
