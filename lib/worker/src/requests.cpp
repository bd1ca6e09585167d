#include <ssebridge/worker/requests.hpp>

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/log.hpp>

#include <boost/asio/this_coro.hpp>

namespace ssebridge::worker {

namespace asio = boost::asio;

namespace {
coro::awaitable<void> run_one(request_handler& handler, request r) {
    std::string id = r.session_id;
    std::exception_ptr failure;
    try {
        co_await handler(std::move(r));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure && log::is_cancellation(failure))
        std::rethrow_exception(failure);
    log::failure(log::level::warn, "request " + id + " failed", failure);
}
} // namespace

coro::awaitable<void> serve_requests(kafka::consumer& consumer, request_handler handler,
                                     std::size_t max_in_flight) {
    coro::task_group running(co_await asio::this_coro::executor);
    std::exception_ptr stopped;
    try {
        for (;;) {
            co_await running.async_wait_fewer_than(max_in_flight);
            kafka::record record = co_await consumer.async_receive();
            auto r = wire::parse_kafka_record(record.value);
            if (!r) {
                log::warn("skipping Kafka record at ", record.topic, "/", record.partition, "@",
                          record.offset, ": ", r.error().message());
                continue;
            }
            running.spawn(run_one(handler, std::move(*r)));
        }
    } catch (...) {
        stopped = std::current_exception();
    }
    running.cancel();
    co_await asio::this_coro::reset_cancellation_state(); // so that this wait is not cancelled too
    co_await running.async_wait();
    std::rethrow_exception(stopped);
}

} // namespace ssebridge::worker
