// Races an operation against a timer; the loser is cancelled.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <optional>

namespace ssebridge::coro {

/// Runs `op` for at most `timeout`. Returns its result, or `std::nullopt` if
/// the time ran out first, in which case `op` has been cancelled (terminal)
/// and has finished. An exception thrown by `op` propagates at once (this is
/// a race to the first completion, not to the first success). `T` must be
/// default-constructible.
template <class T>
awaitable<std::optional<T>> with_timeout(awaitable<T> op, clock::duration timeout) {
    executor ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, timeout);
    auto [order, failure, result, timer_ec] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] != 0)
        co_return std::nullopt;
    if (failure)
        std::rethrow_exception(failure);
    co_return std::move(result);
}

/// As above for an operation without a result: true if it finished in time.
inline awaitable<bool> with_timeout(awaitable<void> op, clock::duration timeout) {
    executor ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, timeout);
    auto [order, failure, timer_ec] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] != 0)
        co_return false;
    if (failure)
        std::rethrow_exception(failure);
    co_return true;
}

} // namespace ssebridge::coro
