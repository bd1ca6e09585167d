// The two ways a `subscriber` is served: one server (`channel_subscriber`),
// or a cluster of them, one a master (`cluster_subscriber`).
#pragma once

#include "shards.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/redis/detail/connection.hpp>
#include <ssebridge/redis/subscriber.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ssebridge::redis::detail {

/// What `subscriber` forwards to; its members are documented there.
class subscriber_backend {
public:
    virtual ~subscriber_backend() = default;
    virtual coro::awaitable<void> async_run() = 0;
    virtual coro::awaitable<subscriber::subscription> async_subscribe(std::string channel,
                                                                      subscriber::sink& target) = 0;
    [[nodiscard]] virtual bool connected() const noexcept = 0;
    [[nodiscard]] virtual std::size_t size() const noexcept = 0;
    [[nodiscard]] virtual subscriber::counters stats() const noexcept = 0;
    [[nodiscard]] virtual std::vector<std::string>
    channels_on_every_master(std::string_view prefix) const = 0;
    virtual coro::awaitable<void> async_wait_connected() = 0;
    virtual void on_batch_end(std::function<void()> f) = 0;
};

/// One connection: SUBSCRIBE on a server, or SSUBSCRIBE on one master of a
/// cluster (`sharded`), where a MOVED reply or a channel dropped by Redis
/// (its slot migrated) makes the subscription fail as `moved` or be lost,
/// and tells the owner through `on_stale`.
class channel_subscriber final : public subscriber_backend {
public:
    channel_subscriber(coro::executor ex, config cfg, bool sharded);
    ~channel_subscriber() override;

    coro::awaitable<void> async_run() override;
    /// Also throws `cluster_error::moved` (sharded: not this node's slot).
    coro::awaitable<subscriber::subscription> async_subscribe(std::string channel,
                                                              subscriber::sink& target) override;
    [[nodiscard]] bool connected() const noexcept override { return connected_; }
    [[nodiscard]] std::size_t size() const noexcept override { return channels_.size(); }
    [[nodiscard]] subscriber::counters stats() const noexcept override { return stats_; }
    [[nodiscard]] std::vector<std::string>
    channels_on_every_master(std::string_view prefix) const override {
        return {std::string(prefix)};
    }
    coro::awaitable<void> async_wait_connected() override;
    void on_batch_end(std::function<void()> f) override { batch_end_ = std::move(f); }

    /// Sharded: the slot map is stale (`r` a MOVED reply, or nullptr: a slot
    /// migrated away, the connection lost).
    void on_stale(std::function<void(const redirection* r)> f) { on_stale_ = std::move(f); }
    /// Drops the connection (its run reconnects unless cancelled).
    void close();
    /// What `subscription::reset` calls.
    void unsubscribe(const std::string& channel, std::uint64_t id);

private:
    struct pending; ///< a subscribe awaiting its confirmation
    struct listener {
        subscriber::sink* target = nullptr;
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
    bool stale_reply(std::string_view channel, bool subscribe);
    void lose(channel_map& lost);
    void lose_all();
    void stale(const redirection* r) {
        if (on_stale_)
            on_stale_(r);
    }
    static listener* find_listener(entry& e, std::uint64_t id) noexcept;

    coro::executor ex_;
    config cfg_;
    bool sharded_;
    std::unique_ptr<connection> conn_;
    coro::event connected_event_;
    channel_map channels_;
    std::unordered_map<std::string, in_flight, string_hash, std::equal_to<>> in_flight_;
    subscriber::counters stats_;
    std::uint64_t next_id_ = 0;
    bool connected_ = false;
    std::function<void()> batch_end_;
    std::function<void(const redirection*)> on_stale_;
};

/// A `channel_subscriber` a master, each channel subscribed on the master
/// of its slot, following the slot map.
class cluster_subscriber final : public subscriber_backend {
public:
    cluster_subscriber(coro::executor ex, config cfg);

    coro::awaitable<void> async_run() override;
    coro::awaitable<subscriber::subscription> async_subscribe(std::string channel,
                                                              subscriber::sink& target) override;
    [[nodiscard]] bool connected() const noexcept override { return shards_.connected(); }
    [[nodiscard]] std::size_t size() const noexcept override;
    [[nodiscard]] subscriber::counters stats() const noexcept override;
    [[nodiscard]] std::vector<std::string>
    channels_on_every_master(std::string_view prefix) const override;
    coro::awaitable<void> async_wait_connected() override;
    void on_batch_end(std::function<void()> f) override;

private:
    channel_subscriber& member_of(const cluster_node& node);
    void start(const cluster_node& node);
    coro::awaitable<void> apply(slot_map map);

    coro::executor ex_;
    config cfg_;
    shards<channel_subscriber> shards_;
    coro::event map_known_;
    std::function<void()> batch_end_;
};

} // namespace ssebridge::redis::detail
