#include <ssebridge/coro/idle_timer.hpp>

namespace ssebridge::coro {

idle_timer::idle_timer(executor ex, clock::duration period)
    : timer_(std::move(ex), clock::time_point::max())
    , period_(period) {}

void idle_timer::start() {
    started_ = true;
    last_ = clock::now();
    timer_.cancel(); // a waiter re-reads the deadline
}

awaitable<void> idle_timer::async_wait_idle() {
    for (;;) {
        clock::time_point target = started_ ? deadline() : clock::time_point::max();
        clock::time_point now = clock::now();
        if (now >= target) {
            last_ = now; // the tick counts as activity: next one a full period later
            co_return;
        }
        if (timer_.expiry() != target)
            timer_.expires_at(target);
        auto [ec] = co_await timer_.async_wait(use_tuple);
        if (ec)
            co_await throw_if_cancelled();
    }
}

} // namespace ssebridge::coro
