#include "subscriber_backend.hpp"

#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/log.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <optional>

namespace ssebridge::redis::detail {

namespace asio = boost::asio;
using boost::system::system_error;

cluster_subscriber::cluster_subscriber(coro::executor ex, config cfg)
    : ex_(ex)
    , cfg_(std::move(cfg))
    , shards_(ex)
    , map_known_(ex) {}

coro::awaitable<void> cluster_subscriber::async_run() {
    return shards_.follow(cfg_, [this](slot_map map) { return apply(std::move(map)); });
}

std::size_t cluster_subscriber::size() const noexcept {
    std::size_t n = 0;
    for (const auto& s : shards_.all())
        n += s->member->size();
    return n;
}

subscriber::counters cluster_subscriber::stats() const noexcept {
    subscriber::counters sum;
    for (const auto& s : shards_.all()) {
        subscriber::counters one = s->member->stats();
        sum.messages += one.messages;
        sum.unrouted += one.unrouted;
        sum.connects += one.connects;
        sum.losses += one.losses;
    }
    return sum;
}

std::vector<std::string>
cluster_subscriber::channels_on_every_master(std::string_view prefix) const {
    std::vector<std::string> channels;
    const slot_map* map = shards_.map();
    if (!map)
        return channels;
    std::vector<bool> owns(map->masters().size(), false); // (a MOVED may leave one with none)
    for (std::size_t slot = 0; slot < cluster_slots; ++slot)
        owns[map->master_of(static_cast<std::uint16_t>(slot))] = true;
    for (std::size_t master = 0; master < owns.size(); ++master) {
        if (!owns[master])
            continue;
        // A few tries on average: each name lands on a master with its share of slots.
        for (std::size_t n = 0;; ++n) {
            std::string name = std::string(prefix) + ":" + std::to_string(n);
            if (map->master_of(key_slot(name)) == master) {
                channels.push_back(std::move(name));
                break;
            }
        }
    }
    return channels;
}

void cluster_subscriber::on_batch_end(std::function<void()> f) {
    batch_end_ = std::move(f);
    for (const auto& s : shards_.all())
        s->member->on_batch_end(batch_end_);
}

coro::awaitable<void> cluster_subscriber::async_wait_connected() {
    // The map first, then each master's member.
    while (!connected()) {
        coro::event* next = &map_known_;
        if (const slot_map* map = shards_.map()) {
            for (const cluster_node& master : map->masters()) {
                channel_subscriber& m = member_of(master);
                if (!m.connected()) {
                    co_await m.async_wait_connected();
                    next = nullptr;
                    break;
                }
            }
        }
        if (next)
            co_await next->async_wait();
    }
}

coro::awaitable<subscriber::subscription>
cluster_subscriber::async_subscribe(std::string channel, subscriber::sink& target) {
    auto route = [&]() -> channel_subscriber* {
        auto* s = shards_.route(channel);
        return s ? s->member.get() : nullptr;
    };
    // A MOVED (the map was stale) routes again, to the node it named.
    for (int attempt = 1;; ++attempt) {
        channel_subscriber* owner = route();
        if (!owner)
            throw system_error(asio::error::not_connected, "Redis Cluster unavailable");
        std::optional<subscriber::subscription> sub;
        try {
            sub = co_await owner->async_subscribe(channel, target);
        } catch (const system_error& e) {
            if (e.code() != cluster_error::moved || attempt == 3)
                throw;
        }
        if (sub)
            co_return std::move(*sub);
        // The member of the node it named may still be connecting: give it the time.
        channel_subscriber* next = route();
        if (next && !next->connected()) {
            bool in_time =
                co_await coro::with_timeout(next->async_wait_connected(), cfg_.connect_timeout);
            (void)in_time; // (if not, the next attempt says so)
        }
    }
}

channel_subscriber& cluster_subscriber::member_of(const cluster_node& node) {
    return *shards_
                .of(node,
                    [this](const cluster_node& n) {
                        auto m = std::make_unique<channel_subscriber>(
                            ex_, detail::node_config(cfg_, n), true);
                        m->on_batch_end(batch_end_);
                        m->on_stale([this](const redirection* r) {
                            if (r && shards_.map()) {
                                shards_.move(r->slot, r->node);
                                start(r->node);
                            } else {
                                shards_.doubt();
                            }
                        });
                        return m;
                    })
                .member;
}

void cluster_subscriber::start(const cluster_node& node) {
    member_of(node);
    auto& s = *shards_.find(node);
    if (s.run.size() == 0)
        s.run.spawn(s.member->async_run());
}

coro::awaitable<void> cluster_subscriber::apply(slot_map map) {
    for (const cluster_node& master : map.masters())
        start(master);
    for (const auto& s :
         shards_.all()) // masters no more: their subscriptions are lost, their runs end
        if (std::find(map.masters().begin(), map.masters().end(), s->node) == map.masters().end())
            s->run.cancel();
    if (!shards_.map() || !(*shards_.map() == map))
        log::info("redis cluster: ", map.masters().size(), " masters");
    shards_.set_map(std::move(map));
    map_known_.set();
    co_return;
}

} // namespace ssebridge::redis::detail
