#include <ssebridge/worker/requests.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/names.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>

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
    cancel_sink(const coro::executor& ex, session_writer& events)
        : cancelled(ex)
        , lost(ex)
        , events(events) {}
    void on_message(std::string_view) override {
        events.cancel();
        cancelled.set();
    }
    // The subscription is gone (Redis restarted or failed over): it is made again.
    void on_lost() override { lost.set(); }
    coro::event cancelled;
    coro::event lost;
    session_writer& events;
};

std::string exists_command(const std::string& key) {
    return redis::make_command({"EXISTS", key});
}

/// Subscribes the session's control channel; an empty subscription when
/// Redis does not answer (restarting, failing over).
coro::awaitable<redis::subscriber::subscription> listen(context& ctx, const std::string& id,
                                                        cancel_sink& sink) {
    redis::subscriber::subscription listening;
    try {
        listening = co_await ctx.control.async_subscribe(wire::control_channel(id), sink);
    } catch (const boost::system::system_error& e) {
        log::session_event(log::level::debug, id, "control channel not subscribed (",
                           e.code().message(), ")");
    }
    co_return listening;
}

/// The session's tombstone is set: it was cancelled. Unanswered (Redis
/// failing over): as if not; the control channel, once back, says.
coro::awaitable<bool> tombstone_set(context& ctx, const std::string& id) {
    bool set = false;
    try {
        redis::reply tombstone =
            co_await ctx.redis.async_exec(exists_command(wire::cancel_key(id)));
        set = tombstone.integer == 1;
    } catch (const boost::system::system_error& e) {
        log::session_event(log::level::warn, id, "tombstone unread (", e.code().message(), ")");
    }
    co_return set;
}

coro::awaitable<void> wait_lost_or_cancelled(cancel_sink& sink) {
    using namespace asio::experimental::awaitable_operators;
    co_await (sink.cancelled.async_wait() || sink.lost.async_wait());
}

/// Completes when the session is cancelled. Keeps its control channel
/// subscribed while the handler runs: a subscription lost (Redis restarted,
/// failed over) is made again as soon as Redis answers, and the tombstone
/// read again then, for a cancel published while nobody listened.
coro::awaitable<void> watch_for_cancel(context& ctx, const std::string& id, cancel_sink& sink,
                                       redis::subscriber::subscription listening) {
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    auto pause = std::chrono::steady_clock::duration(std::chrono::milliseconds(50));
    bool subscribed = !listening.channel().empty();
    for (;;) {
        if (subscribed) {
            co_await wait_lost_or_cancelled(sink);
            if (sink.cancelled.is_set())
                co_return;
            sink.lost.reset();
            listening.reset();
            log::session_event(log::level::info, id, "control channel lost; subscribing again");
        }
        co_await ctx.control.async_wait_connected();
        listening = co_await listen(ctx, id, sink);
        subscribed = !listening.channel().empty();
        if (!subscribed) { // connected, then lost again before the confirmation
            backoff.expires_after(pause);
            co_await backoff.async_wait(asio::use_awaitable);
            pause =
                std::min<std::chrono::steady_clock::duration>(pause * 2, std::chrono::seconds(2));
            continue;
        }
        pause = std::chrono::milliseconds(50);
        bool cancelled = co_await tombstone_set(ctx, id);
        if (cancelled) {
            sink.on_message({});
            co_return;
        }
    }
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

/// One request: listen for a cancel, check the tombstone, then race the
/// handler against a cancel.
coro::awaitable<void> run_one(context& ctx, request r) {
    const std::string id = r.session_id;
    auto ex = co_await asio::this_coro::executor;
    session_writer events(ctx.redis, id, ctx.options.log);
    cancel_sink sink(ex, events);
    redis::subscriber::subscription listening = co_await listen(ctx, id, sink);
    bool cancelled = co_await tombstone_set(ctx, id);
    std::exception_ptr failure;
    if (!cancelled) {
        auto [order, handler_error, wait_error] =
            co_await asio::experimental::make_parallel_group(
                asio::co_spawn(ex, run_handler(ctx.handler, std::move(r), events), asio::deferred),
                asio::co_spawn(ex, watch_for_cancel(ctx, id, sink, std::move(listening)),
                               asio::deferred))
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
