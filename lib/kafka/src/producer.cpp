#include <ssebridge/kafka/producer.hpp>

#include "handle.hpp"
#include "queue_waker.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/log.hpp>

#include <unordered_map>

namespace ssebridge::kafka {

namespace {

// Shared by the awaiting coroutine and librdkafka until the report arrives,
// so a cancelled produce leaves nothing dangling.
struct pending_delivery {
    explicit pending_delivery(coro::executor ex)
        : done(std::move(ex)) {}
    coro::event done;
    delivery result;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    auto* owner = static_cast<std::shared_ptr<pending_delivery>*>(msg->_private);
    pending_delivery& p = **owner;
    p.result.ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!p.result.ok) {
        p.result.error = rd_kafka_err2str(msg->err);
        p.result.too_large = msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    }
    p.result.partition = msg->partition;
    p.result.offset = msg->offset;
    p.done.set();
    delete owner;
}

// librdkafka's statistics (served on our thread by rd_kafka_poll): how many
// brokers are UP. Only the brokers' objects have an upper-case "state".
int on_statistics(rd_kafka_t*, char* json, size_t length, void* opaque) {
    std::string_view stats(json, length);
    int up = 0;
    for (std::size_t at = stats.find(R"("state":"UP")"); at != std::string_view::npos;
         at = stats.find(R"("state":"UP")", at + 1))
        ++up;
    *static_cast<std::optional<int>*>(opaque) = up;
    return 0; // librdkafka frees `json`
}

} // namespace

struct producer::impl {
    impl(coro::executor ex, const settings& conf)
        : ex(ex)
        , rk(make(conf, &brokers_up))
        , main_queue(rd_kafka_queue_get_main(rk.get()))
        , waker(ex, main_queue.get()) {}

    static detail::handle make(const settings& conf, std::optional<int>* brokers_up) {
        rd_kafka_conf_t* c = detail::make_conf(conf);
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
        rd_kafka_conf_set_stats_cb(c, on_statistics);
        rd_kafka_conf_set_opaque(c, brokers_up);
        return detail::make_handle(RD_KAFKA_PRODUCER, c);
    }

    rd_kafka_topic_t* topic(std::string_view name) {
        auto it = topics.find(std::string(name));
        if (it == topics.end()) {
            rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), std::string(name).c_str(), nullptr);
            it = topics.emplace(std::string(name), t).first;
        }
        return it->second;
    }

    void serve() {
        while (rd_kafka_poll(rk.get(), 0) > 0) {
        }
    }

    coro::executor ex;
    std::optional<int> brokers_up; // before rk: librdkafka writes here
    detail::handle rk;
    detail::queue_handle main_queue;
    detail::queue_waker waker;
    std::unordered_map<std::string, rd_kafka_topic_t*> topics;
};

producer::producer(coro::executor ex, const settings& conf)
    : impl_(std::make_unique<impl>(ex, conf)) {}

producer::~producer() {
    // Give in-flight records a moment, then fail the rest so every report
    // (and its shared state) is released before the handle goes.
    rd_kafka_flush(impl_->rk.get(), 1000);
    rd_kafka_purge(impl_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    impl_->serve();
    for (auto& [name, t] : impl_->topics)
        rd_kafka_topic_destroy(t);
}

coro::awaitable<void> producer::async_run() {
    for (;;) {
        impl_->serve();
        co_await impl_->waker.async_wait();
    }
}

coro::awaitable<delivery> producer::async_produce(std::string_view topic, std::string_view key,
                                                  std::string_view value) {
    auto pending = std::make_shared<pending_delivery>(impl_->ex);
    auto* owner = new std::shared_ptr<pending_delivery>(pending);
    int rc = rd_kafka_produce(impl_->topic(topic), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                              const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                              owner);
    if (rc != 0) {
        delete owner;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        co_return delivery{false, rd_kafka_err2str(err),
                           err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE};
    }
    co_await pending->done.async_wait();
    co_return pending->result;
}

int producer::in_flight() const {
    return rd_kafka_outq_len(impl_->rk.get());
}

std::optional<int> producer::brokers_up() const noexcept {
    return impl_->brokers_up;
}

} // namespace ssebridge::kafka
