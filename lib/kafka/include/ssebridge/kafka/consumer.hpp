// A Kafka consumer-group member whose records are awaited.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/kafka/settings.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ssebridge::kafka {

struct record {
    std::string topic;
    std::string key;
    std::string value;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

/// Settings for a member of consumer group `group` on `bootstrap`: reads a
/// new group's topics from the start, and session/poll limits short enough
/// that a rejoin after a crash takes seconds (librdkafka's mock cluster can
/// hang on a rejoin with the defaults).
settings group_settings(const std::string& bootstrap, const std::string& group);

/// Joins the consumer group of `conf["group.id"]`, subscribes to `topics`,
/// and hands out records as they come. The consumer queue wakes Asio through
/// librdkafka's queue I/O event: no polling thread, no sleeps.
class consumer {
public:
    /// Throws `std::invalid_argument` on a bad setting or subscription.
    consumer(coro::executor ex, const settings& conf, const std::vector<std::string>& topics);
    ~consumer();
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;

    /// The next record. Consumer errors other than end-of-partition are
    /// logged, counted and skipped. While it waits it polls librdkafka every
    /// `poll_period`, so an idle member keeps its place in the group
    /// (`max.poll.interval.ms` counts the time between polls, not records).
    /// Cancellation: terminal and partial; no record is lost (it stays in
    /// librdkafka's queue).
    coro::awaitable<record> async_receive();

    /// Stops fetching: the assigned partitions are paused (records fetched
    /// ahead are dropped and fetched again after `resume`). For an owner that
    /// has no room for more work; it must keep `async_stay_in_group` running.
    void pause();
    /// Fetches again from the first record not yet handed out.
    void resume();
    /// While paused: polls every `poll_period` so the member stays in its
    /// group, pausing partitions assigned meanwhile (a record they delivered
    /// is kept for `async_receive`). Runs until cancelled.
    coro::awaitable<void> async_stay_in_group();

    /// Consumer errors seen (a poll interval exceeded, a broker gone, …).
    [[nodiscard]] std::uint64_t errors() const noexcept;

    /// Well below any sensible `max.poll.interval.ms` (the minimum is 1 s).
    static constexpr std::chrono::milliseconds poll_period{250};

    /// Leaves the group: blocks while librdkafka commits and leaves, at most
    /// `limit`. Returns false if it could not (the coordinator is gone, say);
    /// the consumer is then dropped without leaving, and the group notices
    /// after its session timeout. The destructor calls it.
    bool close(std::chrono::milliseconds limit = std::chrono::seconds(5));

private:
    std::optional<record> poll_once(); // one record, or nothing (an error is counted)

    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ssebridge::kafka
