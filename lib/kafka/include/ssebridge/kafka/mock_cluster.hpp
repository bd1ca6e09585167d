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

    /// Takes broker `id` (1, 2, …) down or brings it back: its connections
    /// are closed and new ones refused, as when a broker dies (fault tests).
    void set_broker_up(int id, bool up);

    /// The next `count` produce requests fail with `error`, a Kafka protocol
    /// error code (e.g. 7, REQUEST_TIMED_OUT, which producers retry; 29,
    /// TOPIC_AUTHORIZATION_FAILED, which they do not).
    void fail_produce_requests(int count, int error);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ssebridge::kafka
