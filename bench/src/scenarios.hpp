// The scenarios of ssebridge-bench, one file each (scenario_*.cpp). A new
// scenario: a function here, its file, a line in bench_main.cpp's table.
#pragma once

#include "run_state.hpp"

namespace ssebridge::bench {

/// What one Redis subscriber connection receives, with no gateway: the limit.
coro::awaitable<void> scenario_limit(run_state& st);
/// throughput, latency, slow, idle and resume: streams opened, events
/// published to them, what arrives measured.
coro::awaitable<void> scenario_streams(run_state& st);
/// Sessions per second from POST to worker_ack, through Kafka.
coro::awaitable<void> scenario_setup(run_state& st);
/// Sessions stopped mid-answer: cancel → the worker's last event.
coro::awaitable<void> scenario_cancel(run_state& st);
/// Long churn against a gateway and the reference worker.
coro::awaitable<void> scenario_soak(run_state& st);
/// The latency scenario twice: alone, then beside a storm of readers
/// replaying one long log again and again; the live p99s compared.
coro::awaitable<void> scenario_storm(run_state& st);

} // namespace ssebridge::bench
