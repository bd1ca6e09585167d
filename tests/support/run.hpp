// Running coroutines in tests, with a hard time limit.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace ssebridge::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Runs the io_context until `done()` or `timeout`; throws on timeout.
void run_until(asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::steady_clock::duration timeout);

/// Runs `task` on `ioc` until it completes; throws what it throws, and
/// std::runtime_error if it is not done within `timeout` (so no test hangs).
template <class T>
T run(asio::io_context& ioc, coro::awaitable<T> task,
      std::chrono::steady_clock::duration timeout = 30s) {
    std::optional<T> result;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e)
            result = std::move(value);
        done = true;
    });
    run_until(
        ioc, [&] { return done; }, timeout);
    if (error)
        std::rethrow_exception(error);
    return std::move(*result);
}

inline void run(asio::io_context& ioc, coro::awaitable<void> task,
                std::chrono::steady_clock::duration timeout = 30s) {
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    run_until(
        ioc, [&] { return done; }, timeout);
    if (error)
        std::rethrow_exception(error);
}

/// Runs the io_context until `condition()` holds, checking it every 10 ms,
/// for at most `timeout`; returns whether it came to hold. For facts other
/// processes settle in their own time (Redis applying an UNSUBSCRIBE).
bool eventually(asio::io_context& ioc, const std::function<bool()>& condition,
                std::chrono::steady_clock::duration timeout = 2s);

/// Suspends the calling coroutine for `d`.
coro::awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

} // namespace ssebridge::test
