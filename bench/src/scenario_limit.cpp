#include "scenarios.hpp"

#include "streams.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace ssebridge::bench {

namespace {
struct sink_counter : redis::subscriber::sink {
    results* r = nullptr;
    void on_message(std::string_view payload) override { r->record(payload); }
    void on_lost() override {}
};
} // namespace

coro::awaitable<void> scenario_limit(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    redis::subscriber sub(ex, st.redis_cfg);
    coro::task_group background(ex);
    background.spawn(sub.async_run());
    co_await sub.async_wait_connected();
    std::vector<sink_counter> sinks(st.s.sessions);
    std::vector<redis::subscriber::subscription> subs;
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < st.s.sessions; ++i) {
        sinks[i].r = &st.got;
        channels.push_back("bench_limit:" + std::to_string(i));
        subs.push_back(co_await sub.async_subscribe(channels.back(), sinks[i]));
    }
    co_await connect_publishers(st);
    auto start = steady::now();
    co_await publish_all(st, channels, st.s.events, st.s.rate);
    std::size_t expected = st.s.sessions * st.s.events;
    co_await wait_for(
        st.got, [&] { return st.got.delivered >= expected; }, 120s);
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    st.report["seconds"] = secs;
    st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
    subs.clear();
    background.cancel(); // the subscriber's loop must end before it goes
    co_await background.async_wait();
}

} // namespace ssebridge::bench
