#include <ssebridge/kafka/consumer.hpp>

#include "handle.hpp"
#include "queue_waker.hpp"

#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/log.hpp>

#include <deque>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace ssebridge::kafka {

namespace {

// Hands back the partitions of a revoke event met while leaving the group.
void give_up_assignment(rd_kafka_t* rk, rd_kafka_event_t* rebalance) {
    if (rd_kafka_event_error(rebalance) != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        return;
    if (std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE") {
        if (rd_kafka_error_t* error =
                rd_kafka_incremental_unassign(rk, rd_kafka_event_topic_partition_list(rebalance)))
            rd_kafka_error_destroy(error);
    } else {
        rd_kafka_assign(rk, nullptr);
    }
}

} // namespace

settings group_settings(const std::string& bootstrap, const std::string& group) {
    return {{"bootstrap.servers", bootstrap},
            {"group.id", group},
            {"session.timeout.ms", "6000"},
            {"max.poll.interval.ms", "7000"},
            {"auto.offset.reset", "earliest"}};
}

struct consumer::impl {
    impl(coro::executor ex, const settings& conf, const std::vector<std::string>& topics)
        : rk(detail::make_handle(RD_KAFKA_CONSUMER, detail::make_conf(conf)))
        , queue(redirect(rk.get()))
        , waker(std::in_place, ex, queue.get()) {
        rd_kafka_topic_partition_list_t* list =
            rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
        for (const auto& t : topics)
            rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(rk.get(), list);
        rd_kafka_topic_partition_list_destroy(list);
        if (err)
            throw std::invalid_argument(std::string("Kafka subscribe: ") + rd_kafka_err2str(err));
    }

    // Sends the main queue's events to the consumer queue, which we watch.
    static rd_kafka_queue_t* redirect(rd_kafka_t* rk) {
        rd_kafka_poll_set_consumer(rk);
        return rd_kafka_queue_get_consumer(rk);
    }

    ~impl() {
        waker.reset();
        queue.reset();
        // A consumer that could not leave its group in time must not try
        // again in rd_kafka_destroy: with its brokers gone that never returns.
        if (!closed)
            rd_kafka_destroy_flags(rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }

    detail::handle rk;
    detail::queue_handle queue;
    std::optional<detail::queue_waker> waker;
    bool closed = false;
    bool left_unfinished = false;
    bool paused = false;
    std::deque<record> held; ///< delivered while paused, handed out first
    std::uint64_t errors = 0;
};

consumer::consumer(coro::executor ex, const settings& conf, const std::vector<std::string>& topics)
    : impl_(std::make_unique<impl>(ex, conf, topics)) {}

consumer::~consumer() {
    close();
}

bool consumer::close(std::chrono::milliseconds limit) {
    if (impl_->closed || impl_->left_unfinished)
        return impl_->closed;
    rd_kafka_t* rk = impl_->rk.get();
    detail::queue_handle events(rd_kafka_queue_new(rk));
    if (rd_kafka_error_t* error = rd_kafka_consumer_close_queue(rk, events.get())) {
        log::warn("kafka consumer: cannot leave the group: ", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        impl_->left_unfinished = true;
        return false;
    }
    // Blocks on librdkafka's own queue (no sleeping), at most `limit`: the
    // group coordinator may be gone, and leaving must not hang a shutdown.
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!rd_kafka_consumer_closed(rk)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            log::warn("kafka consumer: leaving the group took longer than ", limit.count(),
                      " ms; dropped without leaving");
            impl_->left_unfinished = true;
            return false;
        }
        rd_kafka_event_t* event = rd_kafka_queue_poll(events.get(), static_cast<int>(left.count()));
        if (event && rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE)
            give_up_assignment(rk, event);
        rd_kafka_event_destroy(event);
    }
    impl_->closed = true;
    return true;
}

namespace {
using message_ptr = std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)>;

record to_record(const rd_kafka_message_t& msg) {
    record r;
    if (msg.rkt)
        r.topic = rd_kafka_topic_name(msg.rkt);
    if (msg.key)
        r.key.assign(static_cast<const char*>(msg.key), msg.key_len);
    if (msg.payload)
        r.value.assign(static_cast<const char*>(msg.payload), msg.len);
    r.partition = msg.partition;
    r.offset = msg.offset;
    return r;
}

void set_paused(rd_kafka_t* rk, bool paused) {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned)
        return;
    if (assigned->cnt > 0) {
        if (paused)
            rd_kafka_pause_partitions(rk, assigned);
        else
            rd_kafka_resume_partitions(rk, assigned);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
}
} // namespace

std::optional<record> consumer::poll_once() {
    message_ptr msg(rd_kafka_consumer_poll(impl_->rk.get(), 0), rd_kafka_message_destroy);
    if (!msg)
        return std::nullopt;
    if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ++impl_->errors;
            log::warn("kafka consumer: ", rd_kafka_message_errstr(msg.get()));
        }
        return std::nullopt;
    }
    return to_record(*msg);
}

coro::awaitable<record> consumer::async_receive() {
    if (!impl_->held.empty()) {
        record r = std::move(impl_->held.front());
        impl_->held.pop_front();
        co_return r;
    }
    for (;;) {
        // Drains what is queued (errors, rebalances) before waiting again.
        for (int i = 0; i < 64; ++i) {
            std::optional<record> r = poll_once();
            if (r)
                co_return std::move(*r);
            if (rd_kafka_queue_length(impl_->queue.get()) == 0)
                break;
        }
        co_await coro::with_timeout(impl_->waker->async_wait(), poll_period);
    }
}

void consumer::pause() {
    impl_->paused = true;
    set_paused(impl_->rk.get(), true);
}

void consumer::resume() {
    impl_->paused = false;
    set_paused(impl_->rk.get(), false);
}

coro::awaitable<void> consumer::async_stay_in_group() {
    for (;;) {
        std::optional<record> r = poll_once();
        if (r) {
            impl_->held.push_back(std::move(*r)); // from a partition assigned after the pause
            set_paused(impl_->rk.get(), impl_->paused);
            continue;
        }
        co_await coro::with_timeout(impl_->waker->async_wait(), poll_period);
    }
}

std::uint64_t consumer::errors() const noexcept {
    return impl_->errors;
}

} // namespace ssebridge::kafka
