// The gateway as a process runs it: one share-nothing shard per core.
#pragma once

#include <ssebridge/gateway/config.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <optional>
#include <string>

namespace ssebridge::gateway {

/// `config::threads` gateways (shards), each on its own thread with its own
/// `io_context`, listening socket on the one port (SO_REUSEPORT: the kernel
/// spreads connections), Redis connections, Kafka producer and sessions:
/// nothing is shared on the per-event path, and no lock is taken. The
/// shards share the token secret (a token from one opens streams on all),
/// the embedded Kafka mock (shard 0's) and `--max-sessions` and
/// `--max-connections`, divided among them. GET /metrics on any shard sums
/// them all.
class service {
public:
    /// Binds every shard's socket. Throws `std::invalid_argument` on a bad
    /// setting (as `gateway`'s constructor).
    explicit service(config cfg);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
    [[nodiscard]] std::optional<std::string> embedded_kafka_bootstrap() const;
    [[nodiscard]] std::size_t shards() const noexcept;

    /// Serves on every shard until SIGTERM or SIGINT, or `stop()`; then
    /// drains (stop accepting, end the streams with an error event) and
    /// returns once every connection has closed, or after `grace`. Returns
    /// 0, or 1 when a shard failed.
    int run(std::chrono::seconds grace = std::chrono::seconds(10));

    /// Begins the drain from any thread.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// `config::threads` resolved: 0 means one a core.
std::size_t thread_count(const config& cfg) noexcept;

} // namespace ssebridge::gateway
