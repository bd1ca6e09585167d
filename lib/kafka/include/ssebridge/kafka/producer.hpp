// A Kafka producer whose every produce is awaited until its delivery report.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/kafka/settings.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ssebridge::kafka {

/// The outcome of one produce: where the record landed, or why it did not.
struct delivery {
    bool ok = false;
    std::string error;      ///< librdkafka's reason when not ok
    bool too_large = false; ///< refused for its size (`message.max.bytes`, the broker's limit)
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

/// One librdkafka producer (one per process is the design: it batches every
/// session's records). Delivery reports wake Asio through librdkafka's queue
/// I/O event on a pipe, so no thread polls and nothing sleeps.
///
/// `async_run()` must be running for reports to be served. Single-threaded
/// for awaiting; librdkafka's own threads do the broker I/O.
class producer {
public:
    /// Throws `std::invalid_argument` when librdkafka rejects a setting.
    producer(coro::executor ex, const settings& conf);
    ~producer();
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    /// Serves delivery reports until cancelled.
    coro::awaitable<void> async_run();

    /// Produces one record (key and value copied) and completes with its
    /// delivery report; the time limit is librdkafka's `message.timeout.ms`.
    /// Cancellation: terminal; the record may still be delivered, and its
    /// report is then dropped.
    coro::awaitable<delivery> async_produce(std::string_view topic, std::string_view key,
                                            std::string_view value);

    /// Records not yet acknowledged by the broker.
    [[nodiscard]] int in_flight() const;

    /// Brokers librdkafka holds a working connection to, from its last
    /// statistics (`statistics.interval.ms` must be set); nullopt before the first.
    [[nodiscard]] std::optional<int> brokers_up() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ssebridge::kafka
