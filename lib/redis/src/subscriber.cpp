#include <ssebridge/redis/subscriber.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/redis/detail/connection.hpp>

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

namespace ssebridge::redis {

namespace asio = boost::asio;
using boost::system::system_error;

subscriber::subscription::subscription(subscriber* owner, std::string channel, std::uint64_t id)
    : owner_(owner)
    , channel_(std::move(channel))
    , id_(id) {}

subscriber::subscription::subscription(subscription&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr))
    , channel_(std::move(other.channel_))
    , id_(other.id_) {}

subscriber::subscription& subscriber::subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
        channel_ = std::move(other.channel_);
        id_ = other.id_;
    }
    return *this;
}

subscriber::subscription::~subscription() {
    reset();
}

void subscriber::subscription::reset() {
    if (owner_)
        std::exchange(owner_, nullptr)->unsubscribe(channel_, id_);
}

struct subscriber::pending {
    explicit pending(coro::executor ex)
        : done(std::move(ex)) {}
    coro::event done;
    bool moved = false; ///< the node answered MOVED: not its slot
};

struct subscriber::shard {
    shard(coro::executor ex, config cfg, cluster_node node)
        : node(std::move(node))
        , sub(new subscriber(ex, std::move(cfg), mode::shard))
        , run(ex) {}
    cluster_node node;
    std::unique_ptr<subscriber> sub;
    coro::task_group run; ///< its async_run while it is a master of the map
};

subscriber::subscriber(coro::executor ex, config cfg)
    : subscriber(ex, std::move(cfg), mode::single) {}

subscriber::subscriber(coro::executor ex, config cfg, mode m)
    : ex_(ex)
    , cfg_(std::move(cfg))
    , connected_event_(std::make_unique<coro::event>(ex))
    , mode_(m) {
    if (mode_ == mode::single && !cfg_.cluster.empty()) {
        mode_ = mode::cluster;
        stale_ = std::make_unique<coro::notifier>(ex);
    }
}

subscriber::~subscriber() = default;

coro::awaitable<void> subscriber::async_run() {
    if (mode_ == mode::cluster)
        return run_cluster();
    return detail::keep_connected(cfg_, mode_ == mode::shard ? "shard subscriber" : "subscriber",
                                  conn_, [this] { return serve(); });
}

bool subscriber::connected() const noexcept {
    if (mode_ != mode::cluster)
        return connected_;
    if (!slots_)
        return false;
    for (const cluster_node& master : slots_->masters()) {
        auto s = std::find_if(shards_.begin(), shards_.end(),
                              [&](const auto& x) { return x->node == master; });
        if (s == shards_.end() || !(*s)->sub->connected_)
            return false;
    }
    return true;
}

std::size_t subscriber::size() const noexcept {
    std::size_t n = channels_.size();
    for (const auto& s : shards_)
        n += s->sub->channels_.size();
    return n;
}

subscriber::counters subscriber::stats() const noexcept {
    counters sum = stats_;
    for (const auto& s : shards_) {
        sum.messages += s->sub->stats_.messages;
        sum.unrouted += s->sub->stats_.unrouted;
        sum.connects += s->sub->stats_.connects;
        sum.losses += s->sub->stats_.losses;
    }
    return sum;
}

std::vector<std::string> subscriber::channels_on_every_master(std::string_view prefix) const {
    if (mode_ != mode::cluster)
        return {std::string(prefix)};
    std::vector<std::string> channels;
    if (!slots_)
        return channels;
    std::vector<bool> owns(slots_->masters().size(), false); // (a MOVED may leave one with none)
    for (std::size_t slot = 0; slot < cluster_slots; ++slot)
        owns[slots_->master_of(static_cast<std::uint16_t>(slot))] = true;
    for (std::size_t master = 0; master < owns.size(); ++master) {
        if (!owns[master])
            continue;
        // A few tries on average: each name lands on a master with its share of slots.
        for (std::size_t n = 0;; ++n) {
            std::string name = std::string(prefix) + ":" + std::to_string(n);
            if (slots_->master_of(key_slot(name)) == master) {
                channels.push_back(std::move(name));
                break;
            }
        }
    }
    return channels;
}

void subscriber::on_batch_end(std::function<void()> f) {
    batch_end_ = std::move(f);
    for (auto& s : shards_)
        s->sub->batch_end_ = batch_end_;
}

coro::awaitable<boost::system::error_code> subscriber::serve() {
    connected_ = true;
    ++stats_.connects;
    connected_event_->set();
    // PINGs on a quiet connection: its pong (ignored by on_reply) proves Redis alive.
    auto ping = [this] {
        append_command(conn_->outbox(), {"PING"});
        conn_->flush();
    };
    auto after_read = [this] {
        if (batch_end_)
            batch_end_();
    };
    boost::system::error_code ec = co_await conn_->async_run(
        [this](std::span<const node> nodes) { on_reply(nodes); }, ping, after_read);
    connected_ = false;
    connected_event_->reset();
    ++stats_.losses;
    lose_all();
    if (on_stale_)
        on_stale_(nullptr); // a master gone: perhaps a failover
    co_return ec;
}

coro::awaitable<void> subscriber::async_wait_connected() {
    if (mode_ != mode::cluster)
        return connected_event_->async_wait();
    // The map first (this subscriber's event), then each master's shard.
    return [](subscriber& self) -> coro::awaitable<void> {
        while (!self.connected()) {
            coro::event* next = self.connected_event_.get();
            if (self.slots_) {
                for (const cluster_node& master : self.slots_->masters()) {
                    subscriber& shard = *self.shard_of(master).sub;
                    if (!shard.connected_) {
                        next = shard.connected_event_.get();
                        break;
                    }
                }
            }
            co_await next->async_wait();
        }
    }(*this);
}

subscriber::listener* subscriber::find_listener(entry& e, std::uint64_t id) noexcept {
    if (e.first.id == id)
        return &e.first;
    for (listener& l : e.more)
        if (l.id == id)
            return &l;
    return nullptr;
}

coro::awaitable<subscriber::subscription> subscriber::async_subscribe(std::string channel,
                                                                      sink& target) {
    if (mode_ == mode::cluster) {
        // A MOVED (the map was stale) routes again, to the node it named.
        for (int attempt = 1;; ++attempt) {
            subscriber* owner = route(channel);
            if (!owner)
                throw system_error(asio::error::not_connected, "Redis Cluster unavailable");
            std::optional<subscription> sub;
            try {
                sub = co_await owner->async_subscribe(channel, target);
            } catch (const system_error& e) {
                if (e.code() != cluster_error::moved || attempt == 3)
                    throw;
            }
            if (sub)
                co_return std::move(*sub);
            // The shard of the node it named may still be connecting: give it the time.
            subscriber* next = route(channel);
            if (next && !next->connected_) {
                bool in_time =
                    co_await coro::with_timeout(next->async_wait_connected(), cfg_.connect_timeout);
                (void)in_time; // (if not, the next attempt says so)
            }
        }
    }
    if (!connected_)
        throw system_error(asio::error::not_connected, "Redis unavailable");
    pending confirmed(ex_); // outlives `sub`, which withdraws the listener pointing here
    auto [it, inserted] = channels_.try_emplace(channel);
    entry& e = it->second;
    listener l{&target, e.subscribed ? nullptr : &confirmed, ++next_id_};
    if (inserted)
        e.first = l;
    else
        e.more.push_back(l);
    subscription sub(this, std::move(channel), next_id_);
    if (inserted) {
        append_command(conn_->outbox(),
                       {mode_ == mode::shard ? "SSUBSCRIBE" : "SUBSCRIBE", sub.channel()});
        conn_->flush();
    }
    if (!l.confirmed)
        co_return sub; // the channel is subscribed already
    co_await confirmed.done.async_wait();
    auto found = channels_.find(sub.channel());
    if (found == channels_.end() || !find_listener(found->second, sub.id_)) {
        sub.owner_ = nullptr; // already gone with the connection, or not this node's slot
        if (confirmed.moved)
            throw system_error(cluster_error::moved);
        throw system_error(asio::error::connection_reset, "Redis connection lost");
    }
    co_return sub;
}

void subscriber::unsubscribe(const std::string& channel, std::uint64_t id) {
    auto it = channels_.find(channel);
    if (it == channels_.end())
        return;
    entry& e = it->second;
    if (e.first.id == id) {
        if (!e.more.empty()) {
            e.first = e.more.front(); // keep the order the sinks came in
            e.more.erase(e.more.begin());
            return;
        }
    } else {
        auto l = std::find_if(e.more.begin(), e.more.end(),
                              [id](const listener& x) { return x.id == id; });
        if (l != e.more.end())
            e.more.erase(l);
        return;
    }
    bool subscribed = e.subscribed;
    channels_.erase(it);
    if (connected_) {
        // The replies still to come for this channel are not for a new
        // subscription of it: a confirmation (when it was pending) and
        // the unsubscription's.
        in_flight& replies = in_flight_[channel];
        replies.subscribes += subscribed ? 0 : 1;
        ++replies.unsubscribes;
        append_command(conn_->outbox(),
                       {mode_ == mode::shard ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel});
        conn_->flush();
    }
}

bool subscriber::stale_reply(std::string_view channel, bool subscribe) {
    if (in_flight_.empty())
        return false;
    auto it = in_flight_.find(channel);
    if (it == in_flight_.end())
        return false;
    int& count = subscribe ? it->second.subscribes : it->second.unsubscribes;
    if (count == 0)
        return false;
    --count;
    if (it->second.subscribes == 0 && it->second.unsubscribes == 0)
        in_flight_.erase(it);
    return true;
}

void subscriber::on_reply(std::span<const node> n) {
    // Pushes are arrays of bulk strings: [kind, channel, payload-or-count].
    if (n.size() != 4 || n[0].type != resp_type::array || n[1].type != resp_type::bulk_string) {
        if (!n.empty() && n[0].type == resp_type::error)
            on_error(n[0].value);
        return;
    }
    std::string_view kind = n[1].value;
    std::string_view channel = n[2].value;
    if (kind == "message" || kind == "smessage") {
        auto it = channels_.find(channel);
        if (it == channels_.end()) {
            ++stats_.unrouted;
            return;
        }
        ++stats_.messages;
        // Sinks only note the message (no sink unsubscribes from within).
        entry& e = it->second;
        e.first.target->on_message(n[3].value);
        for (listener& l : e.more)
            l.target->on_message(n[3].value);
    } else if (kind == "unsubscribe" || kind == "sunsubscribe") {
        if (stale_reply(channel, false) || kind == "unsubscribe")
            return;
        // Not ours: Redis dropped the shard channel, its slot moved to another node.
        auto it = channels_.find(channel);
        if (it == channels_.end())
            return;
        channel_map lost;
        lost.insert(channels_.extract(it));
        lose(lost);
        if (on_stale_)
            on_stale_(nullptr);
    } else if (kind == "subscribe" || kind == "ssubscribe") {
        if (stale_reply(channel, true))
            return; // the confirmation of a subscription withdrawn since
        auto it = channels_.find(channel);
        if (it == channels_.end() || it->second.subscribed)
            return;
        entry& e = it->second;
        e.subscribed = true;
        auto confirm = [](listener& l) {
            if (l.confirmed)
                std::exchange(l.confirmed, nullptr)->done.set();
        };
        confirm(e.first);
        for (listener& l : e.more)
            confirm(l);
    }
}

void subscriber::on_error(std::string_view error) {
    auto r = parse_redirection(error);
    if (!r || r->ask) { // (no ASK for Pub/Sub: channels are not migrated)
        log::error("redis subscriber: ", error);
        return;
    }
    // SSUBSCRIBE on a node that does not serve the slot: its pending
    // subscriptions of that slot fail as `moved` and are routed again.
    channel_map lost;
    for (auto it = channels_.begin(); it != channels_.end();) {
        auto next = std::next(it);
        if (!it->second.subscribed && key_slot(it->first) == r->slot)
            lost.insert(channels_.extract(it));
        it = next;
    }
    auto mark = [](listener& l) {
        if (l.confirmed)
            l.confirmed->moved = true;
    };
    for (auto& [channel, e] : lost) {
        mark(e.first);
        for (listener& l : e.more)
            mark(l);
    }
    lose(lost);
    if (on_stale_)
        on_stale_(&*r);
}

void subscriber::lose(channel_map& lost) {
    auto lose_one = [](listener& l) {
        if (l.confirmed)
            std::exchange(l.confirmed, nullptr)->done.set(); // it finds its listener gone
        else
            l.target->on_lost();
    };
    for (auto& [channel, e] : lost) {
        lose_one(e.first);
        for (listener& l : e.more)
            lose_one(l);
    }
}

void subscriber::lose_all() {
    in_flight_.clear(); // a new connection owes no replies
    channel_map lost;
    std::swap(lost, channels_);
    lose(lost);
}

// Cluster mode ---------------------------------------------------------------

subscriber* subscriber::route(std::string_view channel) noexcept {
    if (!slots_)
        return nullptr;
    const cluster_node& master = slots_->masters()[slots_->master_of(key_slot(channel))];
    for (auto& s : shards_)
        if (s->node == master)
            return s->sub.get();
    return nullptr;
}

subscriber::shard& subscriber::shard_of(const cluster_node& node) {
    for (auto& s : shards_)
        if (s->node == node)
            return *s;
    auto& s =
        *shards_.emplace_back(std::make_unique<shard>(ex_, detail::node_config(cfg_, node), node));
    s.sub->batch_end_ = batch_end_;
    s.sub->on_stale_ = [this](const redirection* r) {
        if (r)
            moved(*r);
        stale_->notify();
    };
    return s;
}

void subscriber::start(shard& s) {
    if (s.run.size() == 0)
        s.run.spawn(s.sub->async_run());
}

void subscriber::moved(const redirection& r) {
    if (!slots_)
        return;
    slots_->move(r.slot, r.node);
    start(shard_of(r.node));
}

void subscriber::apply(slot_map map) {
    for (const cluster_node& master : map.masters())
        start(shard_of(master));
    for (auto& s : shards_) // masters no more: their subscriptions are lost, their runs end
        if (std::find(map.masters().begin(), map.masters().end(), s->node) == map.masters().end())
            s->run.cancel();
    if (!slots_ || !(*slots_ == map))
        log::info("redis cluster: ", map.masters().size(), " masters");
    slots_ = std::make_unique<slot_map>(std::move(map));
    connected_event_->set(); // (in cluster mode: a map is known)
}

coro::awaitable<void> subscriber::run_cluster() {
    detail::slot_map_follower follower;
    follower.connected_masters = [this] {
        std::vector<cluster_node> up;
        for (auto& s : shards_)
            if (s->sub->connected_)
                up.push_back(s->node);
        return up;
    };
    follower.apply = [this](slot_map map) {
        return apply_async(std::move(map));
    };
    follower.healthy = [this] {
        return connected();
    };
    follower.stop = [this] {
        return stop_shards();
    };
    co_await detail::follow_slot_map(cfg_, *stale_, std::move(follower));
}

coro::awaitable<void> subscriber::stop_shards() {
    for (auto& s : shards_)
        s->run.cancel();
    for (auto& s : shards_)
        co_await s->run.async_wait();
}

coro::awaitable<void> subscriber::apply_async(slot_map map) {
    apply(std::move(map));
    co_return;
}

} // namespace ssebridge::redis
