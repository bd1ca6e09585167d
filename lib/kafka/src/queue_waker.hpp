// Wakes a coroutine when a librdkafka queue becomes non-empty.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

struct rd_kafka_queue_s;

namespace ssebridge::kafka::detail {

/// librdkafka writes a byte to our pipe when the queue goes from empty to
/// non-empty (`rd_kafka_queue_io_event_enable`); Asio waits on the read end.
/// The owner must drain the queue after every wake-up.
class queue_waker {
public:
    queue_waker(coro::executor ex, rd_kafka_queue_s* queue);
    ~queue_waker();

    /// Waits until the queue may hold events. Cancellation: terminal and partial.
    coro::awaitable<void> async_wait();

private:
    rd_kafka_queue_s* queue_;
    boost::asio::posix::stream_descriptor read_end_;
    int write_end_ = -1;
};

} // namespace ssebridge::kafka::detail
