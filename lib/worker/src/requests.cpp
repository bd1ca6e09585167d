#include <ssebridge/worker/requests.hpp>

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/log.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <boost/asio/this_coro.hpp>

namespace ssebridge::worker {

namespace asio = boost::asio;
namespace json = boost::json;

std::optional<request> parse_request(std::string_view record_value, std::string& error) {
    boost::system::error_code ec;
    json::value v = json::parse(record_value, ec);
    if (ec) {
        error = "record is not JSON: " + ec.message();
        return std::nullopt;
    }
    const json::object* record = v.if_object();
    const json::value* id = record ? record->if_contains("session_id") : nullptr;
    const json::value* body = record ? record->if_contains("request") : nullptr;
    if (!id || !id->is_string() || id->get_string().empty()) {
        error = "record has no session_id string";
        return std::nullopt;
    }
    if (!body || !body->is_object()) {
        error = "record has no request object";
        return std::nullopt;
    }
    request r;
    r.session_id = id->get_string();
    r.body = json::serialize(*body);
    if (const json::value* q = body->get_object().if_contains("user_query"); q && q->is_string())
        r.user_query = q->get_string();
    return r;
}

namespace {
coro::awaitable<void> run_one(request_handler& handler, request r) {
    std::string id = r.session_id;
    try {
        co_await handler(std::move(r));
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted)
            throw;
        log::warn("request ", id, " failed: ", e.what());
    } catch (const std::exception& e) {
        log::warn("request ", id, " failed: ", e.what());
    }
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
            std::string error;
            std::optional<request> r = parse_request(record.value, error);
            if (!r) {
                log::warn("skipping Kafka record at ", record.topic, "/", record.partition, "@",
                          record.offset, ": ", error);
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
