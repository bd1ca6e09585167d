// The gateway's one clock for all its streams, and the end of a Redis read.
#include "session.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace ssebridge::gateway {

namespace asio = boost::asio;

void flush_streams(gateway::state& st) {
    std::vector<session*> batch;
    batch.swap(st.sessions.unflushed);
    for (session* s : batch)
        s->flush();
    batch.clear();
    if (st.sessions.unflushed.empty())
        st.sessions.unflushed.swap(batch); // keep the capacity: no allocation per read
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
        for (auto it = st.sessions.live.begin(); it != st.sessions.live.end();) {
            session& s = *it++; // (a tick ends a stream only later, in its operation)
            s.on_tick(now);
        }
        reap_abandoned(st, now);
    }
}

} // namespace ssebridge::gateway
