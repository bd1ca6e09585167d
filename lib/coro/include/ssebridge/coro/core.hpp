// Vocabulary shared by every ssebridge coroutine.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace ssebridge::coro {

namespace asio = boost::asio;
using asio::awaitable;
using executor = asio::any_io_executor;
using clock = std::chrono::steady_clock;

/// Completion token that reports errors as a tuple instead of throwing.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Throws `operation_aborted` if the calling coroutine has been cancelled.
/// Primitives call it after a wait that was interrupted, to tell a wake-up
/// from a cancellation.
awaitable<void> throw_if_cancelled();

/// Converts seconds (fractions allowed) to a clock duration.
constexpr clock::duration seconds(double s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

} // namespace ssebridge::coro
