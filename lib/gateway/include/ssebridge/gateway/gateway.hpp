// The ssebridge gateway: HTTP sessions relayed from Redis after a Kafka produce.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/gateway/config.hpp>
#include <ssebridge/wire/event.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ssebridge::gateway {

/// What happened to sessions since start (monotonic counters).
struct counters {
    std::uint64_t sessions_started = 0;      ///< streams whose headers were sent
    std::uint64_t event_streams_started = 0; ///< GET …/events streams whose headers were sent
    std::uint64_t resets = 0;                ///< resumes from a cursor the log no longer held
    std::uint64_t ended_cursors = 0;         ///< resumes at or after the terminal event (204)
    std::uint64_t cancels = 0;               ///< sessions cancelled on request (tombstone set)
    std::uint64_t cancels_confirmed = 0;     ///< of those, confirmed by the worker within the wait
    std::uint64_t abandoned_cancels = 0;     ///< sessions cancelled because nobody watched any more
    std::uint64_t idempotent_joins = 0;      ///< repeated POSTs that joined their session
    std::uint64_t post_resumes = 0;          ///< POSTs whose Last-Event-ID resumed their session
    std::uint64_t idempotency_conflicts = 0; ///< Idempotency-Keys reused with another body (409)
    /// How the streams (POSTs and GETs of events) that started ended:
    std::uint64_t streams_completed = 0;  ///< with the terminal event (end of answer, cancelled)
    std::uint64_t client_disconnects = 0; ///< because the client went away
    /// with an error event, by its code (`ack_timeout`, `slow_client`, …)
    std::array<std::uint64_t, wire::end_code_count> streams_failed{};
    std::uint64_t rejected = 0;           ///< requests answered 503
    std::uint64_t malformed_messages = 0; ///< channel messages skipped

    [[nodiscard]] std::uint64_t failed(wire::end_code code) const noexcept {
        return streams_failed[static_cast<std::size_t>(code)];
    }
};

/// One gateway on one executor (one thread): its HTTP server, its Redis
/// subscriber connection, its Kafka producer and, with
/// `--kafka-brokers embedded`, the in-process Kafka mock.
class gateway {
public:
    /// Binds the listening socket (connections queue from here on) and
    /// starts the embedded Kafka mock if configured. Throws
    /// `std::invalid_argument` on a bad address or URL.
    gateway(coro::executor ex, const config& cfg);
    ~gateway();
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
    /// `HOST:PORT,…` of the embedded Kafka mock, when there is one.
    [[nodiscard]] std::optional<std::string> embedded_kafka_bootstrap() const;

    /// Serves until `stop()`, then returns once every connection has closed.
    coro::awaitable<void> async_run();

    /// Stops accepting, ends open streams with an `error` event, and lets
    /// `async_run` return when the connections are done.
    void stop();

    [[nodiscard]] std::size_t live_sessions() const noexcept;
    /// Session channels subscribed (the readiness canary's own is not one).
    [[nodiscard]] std::size_t subscriptions() const noexcept;
    [[nodiscard]] bool redis_connected() const noexcept;
    [[nodiscard]] const counters& stats() const noexcept;
    /// The Prometheus text exposition of this gateway's metrics (GET
    /// /metrics gives the sums over the shards of a process). Read it on
    /// the gateway's executor.
    [[nodiscard]] std::string metrics_text() const;

    /// Makes this gateway one of `shards` (itself included) of one process:
    /// its GET /metrics then reports their sums, each read on its own executor.
    void join_shards(std::vector<gateway*> shards);

    struct state;

private:
    std::unique_ptr<state> state_;
};

} // namespace ssebridge::gateway
