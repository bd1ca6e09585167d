#include <ssebridge/kafka/consumer.hpp>

#include "handle.hpp"
#include "queue_waker.hpp"

#include <ssebridge/log.hpp>

#include <stdexcept>

namespace ssebridge::kafka {

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
        , waker(ex, queue.get()) {
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

    detail::handle rk;
    detail::queue_handle queue;
    detail::queue_waker waker;
    bool closed = false;
};

consumer::consumer(coro::executor ex, const settings& conf, const std::vector<std::string>& topics)
    : impl_(std::make_unique<impl>(ex, conf, topics)) {}

consumer::~consumer() {
    close();
}

void consumer::close() {
    if (!impl_->closed) {
        impl_->closed = true;
        rd_kafka_consumer_close(impl_->rk.get());
    }
}

coro::awaitable<record> consumer::async_receive() {
    for (;;) {
        rd_kafka_message_t* msg = rd_kafka_consumer_poll(impl_->rk.get(), 0);
        if (!msg) {
            co_await impl_->waker.async_wait();
            continue;
        }
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
            msg, rd_kafka_message_destroy);
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log::warn("kafka consumer: ", rd_kafka_message_errstr(msg));
            continue;
        }
        record r;
        if (msg->rkt)
            r.topic = rd_kafka_topic_name(msg->rkt);
        if (msg->key)
            r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
        if (msg->payload)
            r.value.assign(static_cast<const char*>(msg->payload), msg->len);
        r.partition = msg->partition;
        r.offset = msg->offset;
        co_return r;
    }
}

} // namespace ssebridge::kafka
