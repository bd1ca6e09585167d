#include <ssebridge/kafka/mock_cluster.hpp>

#include "handle.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace ssebridge::kafka {

struct mock_cluster::impl {
    detail::handle rk; // the mock cluster needs a client handle to live in
    rd_kafka_mock_cluster_t* cluster = nullptr;
};

mock_cluster::mock_cluster(int brokers)
    : impl_(std::make_unique<impl>()) {
    impl_->rk = detail::make_handle(RD_KAFKA_PRODUCER, detail::make_conf({{"log_level", "3"}}));
    impl_->cluster = rd_kafka_mock_cluster_new(impl_->rk.get(), brokers);
    if (!impl_->cluster)
        throw std::runtime_error("cannot start the Kafka mock cluster");
}

mock_cluster::~mock_cluster() {
    rd_kafka_mock_cluster_destroy(impl_->cluster);
}

std::string mock_cluster::bootstrap_servers() const {
    return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

void mock_cluster::create_topic(const std::string& topic, int partitions) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
    if (err)
        throw std::runtime_error("Kafka mock: create topic " + topic + ": " +
                                 rd_kafka_err2str(err));
}

void mock_cluster::set_broker_up(int id, bool up) {
    rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(impl_->cluster, id)
                                 : rd_kafka_mock_broker_set_down(impl_->cluster, id);
    if (err)
        throw std::runtime_error("Kafka mock: broker " + std::to_string(id) + ": " +
                                 rd_kafka_err2str(err));
}

void mock_cluster::fail_produce_requests(int count, int error) {
    constexpr std::int16_t produce_api_key =
        0; // the Kafka protocol's; librdkafka keeps its enum private
    for (int i = 0; i < count; ++i)
        rd_kafka_mock_push_request_errors(impl_->cluster, produce_api_key, 1,
                                          static_cast<rd_kafka_resp_err_t>(error));
}

} // namespace ssebridge::kafka
