// What arrives: send times, latencies, counts, and the server's memory.
#pragma once

#include "core.hpp"

#include <ssebridge/coro/event.hpp>

#include <functional>
#include <vector>

namespace ssebridge::bench {

std::int64_t now_ns();

// The send time carried by an event, or -1: the number after `"t"`, however
// the JSON is spaced (a server may re-serialise it: `"t": 123`).
std::int64_t sent_at(std::string_view data);

/// What has arrived, and a notifier that wakes whoever waits on it.
struct results {
    explicit results(coro::executor ex)
        : progress(std::move(ex)) {}

    std::size_t delivered = 0;
    std::size_t acked = 0;
    std::vector<std::uint32_t> latency_us;
    coro::notifier progress;

    void record(std::string_view data) {
        std::int64_t t = sent_at(data);
        if (t >= 0)
            latency_us.push_back(static_cast<std::uint32_t>((now_ns() - t) / 1000));
        ++delivered;
        progress.notify();
    }
    void record_ack() {
        ++acked;
        progress.notify();
    }
    void reset() {
        delivered = acked = 0;
        latency_us.clear();
    }
};

/// Waits until `done()` holds (true) or `limit` passes first (false),
/// waking on every change `results` reports.
coro::awaitable<bool> wait_for(results& r, std::function<bool()> done, steady::duration limit);

/// The `p`th percentile (0–100) of `sorted`; 0 when empty.
std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p);

/// The resident memory of process `pid`, in KiB (0 when unknown).
std::size_t rss_kib(std::size_t pid);

} // namespace ssebridge::bench
