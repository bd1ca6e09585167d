// Races an operation against a timer; the loser is cancelled.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <variant>

namespace ssebridge::coro {

/// Runs `op` for at most `timeout`. Returns its result, or `std::nullopt` if
/// the time ran out first, in which case `op` has been cancelled (terminal)
/// and has finished. Exceptions thrown by `op` propagate.
template <class T>
awaitable<std::optional<T>> with_timeout(awaitable<T> op, clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    std::variant<T, std::monostate> result =
        co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 0)
        co_return std::get<0>(std::move(result));
    co_return std::nullopt;
}

/// As above for an operation without a result: true if it finished in time.
inline awaitable<bool> with_timeout(awaitable<void> op, clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    std::variant<std::monostate, std::monostate> result =
        co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    co_return result.index() == 0;
}

} // namespace ssebridge::coro
