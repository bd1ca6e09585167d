// librdkafka's in-process mock Kafka cluster, for demos and tests.
#pragma once

#include <memory>
#include <string>

namespace ssebridge::kafka {

/// Brokers speaking the Kafka protocol on loopback ports, consumer groups
/// included, run by librdkafka's own threads. Lives until destroyed.
class mock_cluster {
public:
    explicit mock_cluster(int brokers = 1);
    ~mock_cluster();
    mock_cluster(const mock_cluster&) = delete;
    mock_cluster& operator=(const mock_cluster&) = delete;

    /// `HOST:PORT[,HOST:PORT…]` for `bootstrap.servers`.
    [[nodiscard]] std::string bootstrap_servers() const;

    /// Creates `topic`; throws `std::runtime_error` if the cluster refuses.
    void create_topic(const std::string& topic, int partitions = 1);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ssebridge::kafka
