#include <ssebridge/worker/requests.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/names.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace ssebridge::worker {

namespace asio = boost::asio;

namespace {

struct context {
    redis::client& redis;
    redis::subscriber& control;
    request_handler& handler;
    const serve_options& options;
};

/// Hears the session's control channel: any message there is a cancel.
struct cancel_sink final : redis::subscriber::sink {
    cancel_sink(coro::executor ex, session_writer& events)
        : cancelled(std::move(ex))
        , events(events) {}
    void on_message(std::string_view) override {
        events.cancel();
        cancelled.set();
    }
    // The subscription is gone (Redis restarted or failed over): a cancel
    // from now on does not reach this handler, which runs to its end.
    void on_lost() override {}
    coro::event cancelled;
    session_writer& events;
};

std::string exists_command(const std::string& key) {
    return redis::make_command({"EXISTS", key});
}

bool has_code(const std::exception_ptr& e, wire::error code) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        return x.code() == code;
    } catch (...) {
        return false;
    }
}

coro::awaitable<void> run_handler(request_handler& handler, request r, session_writer& events) {
    co_await handler(std::move(r), events);
}

coro::awaitable<void> wait_cancelled(cancel_sink& sink) {
    co_await sink.cancelled.async_wait();
}

/// One request: listen for a cancel, check the tombstone, then race the
/// handler against a cancel.
coro::awaitable<void> run_one(context& ctx, request r) {
    const std::string id = r.session_id;
    auto ex = co_await asio::this_coro::executor;
    session_writer events(ctx.redis, id, ctx.options.log);
    cancel_sink sink(ex, events);
    redis::subscriber::subscription listening;
    try {
        listening = co_await ctx.control.async_subscribe(wire::control_channel(id), sink);
    } catch (const boost::system::system_error& e) {
        log::session_event(log::level::warn, id, "no control channel (", e.code().message(),
                           "); a cancel stops it at its next event");
    }
    // Unanswered (Redis failing over): go on; the control channel stops it.
    bool cancelled = false;
    try {
        redis::reply tombstone =
            co_await ctx.redis.async_exec(exists_command(wire::cancel_key(id)));
        cancelled = tombstone.integer == 1;
    } catch (const boost::system::system_error& e) {
        log::session_event(log::level::warn, id, "tombstone unread (", e.code().message(),
                           "); run as if not cancelled");
    }
    std::exception_ptr failure;
    if (!cancelled) {
        auto [order, handler_error, wait_error] =
            co_await asio::experimental::make_parallel_group(
                asio::co_spawn(ex, run_handler(ctx.handler, std::move(r), events), asio::deferred),
                asio::co_spawn(ex, wait_cancelled(sink), asio::deferred))
                .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        co_await coro::throw_if_cancelled(); // the whole loop stops: no record
        cancelled = order[0] == 1 ||
                    (handler_error && has_code(handler_error, wire::error::session_cancelled));
        bool ended = handler_error && has_code(handler_error, wire::error::session_ended);
        if (ended)
            log::session_event(log::level::info, id, "ended by the gateway; stopped");
        else if (!cancelled)
            failure = handler_error;
    }
    if (cancelled) {
        bool had_ended = false;
        try {
            co_await events.record_cancelled();
        } catch (const boost::system::system_error& e) {
            if (e.code() != wire::error::session_ended)
                throw;
            had_ended = true; // (the gateway's end came first: nothing to confirm)
        }
        log::session_event(log::level::info, id,
                           had_ended ? "cancelled; it had ended" : "cancelled");
    }
    log::failure(log::level::warn, "request " + id + " failed", failure);
}

coro::awaitable<void> run_logged(context& ctx, request r) {
    std::string id = r.session_id;
    std::exception_ptr failure;
    try {
        co_await run_one(ctx, std::move(r));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure && log::is_cancellation(failure))
        std::rethrow_exception(failure);
    log::failure(log::level::warn, "request " + id + " failed", failure);
}

/// At the limit: fetch nothing more, but keep polling so that the worker
/// stays in its group however long its handlers take (max.poll.interval.ms).
coro::awaitable<void> wait_for_room(kafka::consumer& consumer, coro::task_group& running,
                                    std::size_t limit) {
    using namespace asio::experimental::awaitable_operators;
    consumer.pause();
    co_await (running.async_wait_fewer_than(limit) || consumer.async_stay_in_group());
    consumer.resume();
}

} // namespace

coro::awaitable<void> serve_requests(kafka::consumer& consumer, redis::client& redis,
                                     redis::subscriber& control, request_handler handler,
                                     serve_options options) {
    context ctx{redis, control, handler, options};
    coro::task_group running(co_await asio::this_coro::executor);
    std::exception_ptr stopped;
    try {
        for (;;) {
            if (running.size() >= options.max_in_flight)
                co_await wait_for_room(consumer, running, options.max_in_flight);
            kafka::record record = co_await consumer.async_receive();
            auto r = wire::parse_kafka_record(record.value);
            if (!r) {
                log::warn("skipping Kafka record at ", record.topic, "/", record.partition, "@",
                          record.offset, ": ", r.error().message());
                continue;
            }
            running.spawn(run_logged(ctx, std::move(*r)));
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
