// What the cluster client and the cluster subscriber share: one member a
// master, the slot map that routes a key to it, and following that map.
#pragma once

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/detail/connection.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ssebridge::redis::detail {

/// The members of a cluster owner, each serving one master ever seen (none
/// is removed: what was handed out may point into it). `Member` has
/// `bool connected() const` and `void close()`. Single-threaded.
template <class Member>
class shards {
public:
    struct shard {
        shard(coro::executor ex, cluster_node n, std::unique_ptr<Member> m)
            : node(std::move(n))
            , member(std::move(m))
            , run(ex) {}
        cluster_node node;
        std::unique_ptr<Member> member;
        coro::task_group run; ///< what serves it, while its owner wants it served
    };

    explicit shards(coro::executor ex)
        : ex_(ex)
        , stale_(ex) {}

    /// The shard of `node`, its member made by `make(node)` the first time.
    template <class Make>
    shard& of(const cluster_node& node, Make&& make) {
        if (shard* s = find(node))
            return *s;
        return *all_.emplace_back(std::make_unique<shard>(ex_, node, make(node)));
    }

    [[nodiscard]] shard* find(const cluster_node& node) const noexcept {
        auto s =
            std::find_if(all_.begin(), all_.end(), [&](const auto& x) { return x->node == node; });
        return s == all_.end() ? nullptr : s->get();
    }

    /// The shard of the master serving `key`'s slot (the first master for no
    /// key); nullptr before a map is known or when that master has none yet.
    [[nodiscard]] shard* route(std::optional<std::string_view> key) const noexcept {
        if (!map_ || map_->masters().empty())
            return nullptr;
        return find(key ? map_->masters()[map_->master_of(key_slot(*key))]
                        : map_->masters().front());
    }

    /// The current slot map; nullptr before the first.
    [[nodiscard]] const slot_map* map() const noexcept { return map_.get(); }
    void set_map(slot_map m) { map_ = std::make_unique<slot_map>(std::move(m)); }
    /// A MOVED: `slot` is served by `node` from now on, and the map is doubted.
    void move(std::uint16_t slot, const cluster_node& node) {
        if (map_)
            map_->move(slot, node);
        stale_.notify();
    }
    /// Wakes the follower: the map is doubted (a lost master, a migrated
    /// channel) or the owner is closing.
    void doubt() { stale_.notify(); }

    /// Every master of the map has a connected member.
    [[nodiscard]] bool connected() const noexcept {
        if (!map_)
            return false;
        return std::all_of(map_->masters().begin(), map_->masters().end(), [&](const auto& m) {
            shard* s = find(m);
            return s && s->member->connected();
        });
    }

    [[nodiscard]] const std::vector<std::unique_ptr<shard>>& all() const noexcept { return all_; }

    /// Keeps the map current (`follow_slot_map`): `apply` takes each fresh
    /// one; until `done()` or cancelled (then throws `operation_aborted`).
    /// However it ends, every member is closed and its run awaited first.
    coro::awaitable<void> follow(
        const config& cfg, std::function<coro::awaitable<void>(slot_map)> apply,
        std::function<bool()> done = [] { return false; }) {
        slot_map_follower f;
        f.connected_masters = [this] {
            std::vector<cluster_node> up;
            for (const auto& s : all_)
                if (s->member->connected())
                    up.push_back(s->node);
            return up;
        };
        f.apply = std::move(apply);
        f.healthy = [this] {
            return connected();
        };
        f.done = std::move(done);
        f.stop = [this] {
            return stop();
        };
        co_await follow_slot_map(cfg, stale_, std::move(f));
    }

private:
    coro::awaitable<void> stop() {
        for (const auto& s : all_) {
            s->member->close();
            s->run.cancel();
        }
        for (const auto& s : all_)
            co_await s->run.async_wait();
    }

    coro::executor ex_;
    std::vector<std::unique_ptr<shard>> all_;
    std::unique_ptr<slot_map> map_;
    coro::notifier stale_;
};

} // namespace ssebridge::redis::detail
