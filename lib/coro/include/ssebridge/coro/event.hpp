// A one-shot, manual-reset event that any number of coroutines can await.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/steady_timer.hpp>

namespace ssebridge::coro {

/// `set()` wakes every waiter, now and later, until `reset()`.
///
/// Single-threaded: use it from the strand or thread that owns its executor.
/// Cancellation: a waiting `async_wait` supports terminal and partial
/// cancellation; it then throws `operation_aborted` and the event is unchanged.
class event {
public:
    explicit event(executor ex);

    void set();
    void reset() noexcept { set_ = false; }
    [[nodiscard]] bool is_set() const noexcept { return set_; }

    /// Waits until the event is set.
    awaitable<void> async_wait();

private:
    asio::steady_timer timer_;
    bool set_ = false;
};

/// Wakes one waiting coroutine, or the next one to wait if none waits now.
///
/// A wake-up for one waiter (a queue or a loop): `notify()` is cheap and never
/// suspends; `async_wait(deadline)` returns true when notified and false when
/// the deadline passed first. One waiter at a time.
/// Cancellation: terminal and partial; throws `operation_aborted`, and a
/// pending notification is kept for the next wait.
class notifier {
public:
    explicit notifier(executor ex);

    void notify();
    awaitable<bool> async_wait(clock::time_point deadline = clock::time_point::max());

private:
    asio::steady_timer timer_;
    bool notified_ = false;
    bool waiting_ = false;
};

} // namespace ssebridge::coro
