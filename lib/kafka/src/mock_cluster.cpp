#include <ssebridge/kafka/mock_cluster.hpp>

#include "handle.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

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

} // namespace ssebridge::kafka
