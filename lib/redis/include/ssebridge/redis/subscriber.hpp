// One Redis connection in Pub/Sub mode, shared by every session of a thread.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/config.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis::detail {
class subscriber_backend;
class channel_subscriber;
} // namespace ssebridge::redis::detail

namespace ssebridge::redis {

/// Multiplexes exact-channel subscriptions of many sessions over one
/// connection and routes each message to its channel's sinks. Any number of
/// sinks may hold one channel (two tabs on one session): Redis sees one
/// SUBSCRIBE, and one UNSUBSCRIBE when the last of them leaves.
///
/// `async_run()` connects, serves, and reconnects with backoff (50 ms
/// doubling to 2 s) until cancelled. When the connection is lost every
/// subscription is dropped and its sink told `on_lost()`; subscribing again
/// is the owner's decision. Single-threaded: use it from its executor only.
///
/// On a Redis Cluster (`config::cluster`) it keeps one connection per
/// master and subscribes each channel with SSUBSCRIBE (sharded Pub/Sub) on
/// the master of the channel's slot, following the slot map (`CLUSTER
/// SLOTS`, read again every 5 s, after a MOVED and when a connection is
/// lost). A subscription whose node fails, or whose slot moves away, is
/// lost like any other (`on_lost()`); subscribing again reaches the new owner.
class subscriber {
public:
    /// Receives the messages of one channel. Called synchronously from the
    /// reader: it must not block, and `payload` is valid only during the call.
    class sink {
    public:
        virtual void on_message(std::string_view payload) = 0;
        /// The subscription is gone (connection lost); no more messages come.
        virtual void on_lost() = 0;

    protected:
        ~sink() = default;
    };

    /// Keeps a channel subscribed; destroying it unsubscribes.
    class subscription {
    public:
        subscription() = default;
        subscription(subscription&& other) noexcept;
        subscription& operator=(subscription&& other) noexcept;
        ~subscription();

        [[nodiscard]] const std::string& channel() const noexcept { return channel_; }
        /// Unsubscribes now (idempotent).
        void reset();

    private:
        friend class detail::channel_subscriber;
        subscription(detail::channel_subscriber* owner, std::string channel, std::uint64_t id);

        detail::channel_subscriber* owner_ = nullptr;
        std::string channel_;
        std::uint64_t id_ = 0;
    };

    struct counters {
        std::uint64_t messages = 0; ///< messages routed to a sink
        std::uint64_t unrouted =
            0; ///< messages for channels no one holds (late, after unsubscribe)
        std::uint64_t connects = 0; ///< successful (re)connections
        std::uint64_t losses = 0;   ///< connections lost after being established
    };

    subscriber(coro::executor ex, config cfg);
    ~subscriber();
    subscriber(const subscriber&) = delete;
    subscriber& operator=(const subscriber&) = delete;

    /// Runs the connection until cancelled (then throws `operation_aborted`).
    coro::awaitable<void> async_run();

    /// Subscribes `channel` and completes once Redis has confirmed it (at
    /// once when another sink holds it already); from then on its messages
    /// go to `target` until the subscription dies. Sinks of one channel get
    /// each message in the order they subscribed.
    /// Throws `system_error`: `not_connected` while Redis is unreachable,
    /// `connection_reset` if the connection dies before the confirmation.
    /// Cancellation: terminal; the pending subscription is withdrawn.
    coro::awaitable<subscription> async_subscribe(std::string channel, sink& target);

    /// Connected (on a cluster: to every master of the slot map).
    [[nodiscard]] bool connected() const noexcept;
    /// Subscriptions held, pending ones included.
    [[nodiscard]] std::size_t size() const noexcept;
    [[nodiscard]] counters stats() const noexcept;
    /// Channel names starting with `prefix`, one served by each master of
    /// the slot map (`prefix` itself on one server; none before a map is
    /// known): what a probe of every node subscribes.
    [[nodiscard]] std::vector<std::string> channels_on_every_master(std::string_view prefix) const;

    /// Waits until the connection is established (for start-up and tests).
    coro::awaitable<void> async_wait_connected();

    /// Called after the messages of each batch have gone to their sinks: an
    /// owner whose sinks only note messages acts on a batch at once (one
    /// write per client per batch, however many events it got). A batch is
    /// all that Redis had sent when it was read, up to 1 MiB: the socket is
    /// read dry before the batch ends.
    void on_batch_end(std::function<void()> f);

private:
    std::unique_ptr<detail::subscriber_backend> impl_; ///< one server, or a cluster
};

} // namespace ssebridge::redis
