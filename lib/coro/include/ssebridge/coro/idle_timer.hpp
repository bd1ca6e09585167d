// Fires after a quiet period: the clock restarts at every touch().
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/steady_timer.hpp>

namespace ssebridge::coro {

/// The keepalive ticker: `async_wait_idle()` completes once `period` has
/// passed since the last `touch()` (or since `start()`), then restarts its
/// own clock, so a loop around it ticks once per quiet period.
///
/// `touch()` is a store, not a timer operation, so it costs nothing on the
/// hot path; the timer is re-armed only when it fires early.
/// Until `start()` the timer is disarmed and waiters simply wait.
/// Cancellation: terminal and partial; throws `operation_aborted`.
/// One waiter at a time.
class idle_timer {
public:
    idle_timer(executor ex, clock::duration period);

    void start();
    void touch() noexcept { last_ = clock::now(); }
    [[nodiscard]] bool started() const noexcept { return started_; }
    [[nodiscard]] clock::time_point deadline() const noexcept { return last_ + period_; }

    awaitable<void> async_wait_idle();

private:
    asio::steady_timer timer_;
    clock::duration period_;
    clock::time_point last_{};
    bool started_ = false;
};

} // namespace ssebridge::coro
