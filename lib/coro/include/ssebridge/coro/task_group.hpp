// A set of spawned coroutines that can be cancelled and awaited together.
#pragma once

#include <ssebridge/coro/event.hpp>

#include <boost/asio/cancellation_signal.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <list>

namespace ssebridge::coro {

/// Owns the coroutines it spawns: `cancel()` delivers terminal cancellation
/// to each of them and `async_wait()` returns once all have finished.
/// An exception that escapes a task goes to the error handler (by default
/// it is swallowed), never to the caller of `io_context::run`.
/// Single-threaded: spawn, cancel and wait from the owning thread.
class task_group {
public:
    using error_handler = std::function<void(std::exception_ptr)>;

    explicit task_group(executor ex, error_handler on_error = {});
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    void spawn(awaitable<void> task);
    void cancel();
    [[nodiscard]] std::size_t size() const noexcept { return signals_.size(); }

    /// Waits until no task is running.
    awaitable<void> async_wait();

    /// Waits until fewer than `n` tasks run (a bound on concurrency).
    /// One waiter at a time.
    awaitable<void> async_wait_fewer_than(std::size_t n);

private:
    executor ex_;
    error_handler on_error_;
    std::list<asio::cancellation_signal> signals_;
    event empty_;
    notifier shrunk_;
};

} // namespace ssebridge::coro
