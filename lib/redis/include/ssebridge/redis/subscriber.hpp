// One Redis connection in Pub/Sub mode, shared by every session of a thread.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/resp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ssebridge::coro {
class event;
class notifier;
} // namespace ssebridge::coro
namespace ssebridge::redis::detail {
class connection;
}

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
        friend class subscriber;
        subscription(subscriber* owner, std::string channel, std::uint64_t id);

        subscriber* owner_ = nullptr;
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
    enum class mode : std::uint8_t {
        single,  ///< one server, SUBSCRIBE
        shard,   ///< one master of a cluster, SSUBSCRIBE
        cluster, ///< a shard per master, routed by slot
    };
    struct pending; ///< a subscribe awaiting its confirmation
    struct shard;   ///< a master's subscriber and its run
    subscriber(coro::executor ex, config cfg, mode m);

    struct listener {
        sink* target = nullptr;
        pending* confirmed = nullptr; ///< set while SUBSCRIBE awaits its reply
        std::uint64_t id = 0;
    };
    struct entry {
        listener first;             ///< the common case, one listener: no allocation
        std::vector<listener> more; ///< the others, in the order they came
        bool subscribed = false;    ///< Redis confirmed the channel
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using channel_map = std::unordered_map<std::string, entry, string_hash, std::equal_to<>>;
    /// Replies Redis still owes for a channel given up: they are not about
    /// a new subscription of the same channel.
    struct in_flight {
        int subscribes = 0;
        int unsubscribes = 0;
    };

    coro::awaitable<boost::system::error_code> serve(); // one connection's life
    void on_reply(std::span<const node> nodes);
    void on_error(std::string_view error);
    void unsubscribe(const std::string& channel, std::uint64_t id);
    bool stale_reply(std::string_view channel, bool subscribe);
    void lose(channel_map& lost);
    void lose_all();
    static listener* find_listener(entry& e, std::uint64_t id) noexcept;

    // Cluster mode.
    coro::awaitable<void> run_cluster();
    coro::awaitable<void> stop_shards(); ///< ends the shards' runs (structured)
    void apply(slot_map map);
    coro::awaitable<void> apply_async(slot_map map);
    shard& shard_of(const cluster_node& node);
    void start(shard& s);
    void moved(const redirection& r);
    subscriber* route(std::string_view channel) noexcept;

    coro::executor ex_;
    config cfg_;
    std::unique_ptr<detail::connection> conn_;
    std::unique_ptr<coro::event> connected_event_;
    channel_map channels_;
    std::unordered_map<std::string, in_flight, string_hash, std::equal_to<>> in_flight_;
    counters stats_;
    std::uint64_t next_id_ = 0;
    bool connected_ = false;
    mode mode_ = mode::single;
    std::function<void()> batch_end_;
    /// Shard mode: tells the cluster the slot map is stale (a MOVED reply,
    /// a slot migrated away, the connection lost).
    std::function<void(const redirection*)> on_stale_;
    /// Cluster mode: every master ever seen (never removed: subscriptions
    /// point into them), the current map, and a wake-up for a new map.
    std::vector<std::unique_ptr<shard>> shards_;
    std::unique_ptr<slot_map> slots_;
    std::unique_ptr<coro::notifier> stale_;
};

} // namespace ssebridge::redis
