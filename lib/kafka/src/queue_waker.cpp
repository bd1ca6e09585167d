#include "queue_waker.hpp"

#include <librdkafka/rdkafka.h>

#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace ssebridge::kafka::detail {

namespace asio = boost::asio;

namespace {
int make_pipe(int ends[2]) {
    if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(), "pipe2");
    return ends[0];
}
constexpr char wake_byte[] = "1";
} // namespace

queue_waker::queue_waker(coro::executor ex, rd_kafka_queue_s* queue)
    : queue_(queue)
    , read_end_(std::move(ex)) {
    int ends[2];
    read_end_.assign(make_pipe(ends));
    write_end_ = ends[1];
    rd_kafka_queue_io_event_enable(queue_, write_end_, wake_byte, 1);
}

queue_waker::~queue_waker() {
    rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
    ::close(write_end_);
}

coro::awaitable<void> queue_waker::async_wait() {
    co_await read_end_.async_wait(asio::posix::descriptor_base::wait_read, asio::use_awaitable);
    char drain[64];
    while (::read(read_end_.native_handle(), drain, sizeof drain) > 0) {
    }
}

} // namespace ssebridge::kafka::detail
