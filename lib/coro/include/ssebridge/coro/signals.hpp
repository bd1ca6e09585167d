// Awaiting process signals.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <vector>

namespace ssebridge::coro {

/// Waits until one of `signals` is delivered to the process and returns its
/// number. The handlers are installed for the duration of the wait only.
/// Cancellation: terminal and partial; throws `operation_aborted`.
awaitable<int> async_wait_signal(std::vector<int> signals);

/// Waits for SIGTERM or SIGINT, the requests to stop a service.
awaitable<int> async_wait_termination();

} // namespace ssebridge::coro
