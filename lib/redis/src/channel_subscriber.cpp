#include "subscriber_backend.hpp"

#include <ssebridge/log.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>

namespace ssebridge::redis::detail {

struct channel_subscriber::pending {
    explicit pending(coro::executor ex)
        : done(std::move(ex)) {}
    coro::event done;
    bool moved = false; ///< the node answered MOVED: not its slot
};

namespace asio = boost::asio;
using boost::system::system_error;

channel_subscriber::channel_subscriber(coro::executor ex, config cfg, bool sharded)
    : ex_(ex)
    , cfg_(std::move(cfg))
    , sharded_(sharded)
    , connected_event_(ex) {}

channel_subscriber::~channel_subscriber() = default;

coro::awaitable<void> channel_subscriber::async_run() {
    return keep_connected(cfg_, sharded_ ? "shard subscriber" : "subscriber", conn_,
                          [this] { return serve(); });
}

coro::awaitable<void> channel_subscriber::async_wait_connected() {
    return connected_event_.async_wait();
}

void channel_subscriber::close() {
    if (conn_)
        conn_->close();
}

coro::awaitable<boost::system::error_code> channel_subscriber::serve() {
    connected_ = true;
    ++stats_.connects;
    connected_event_.set();
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
    connected_event_.reset();
    ++stats_.losses;
    lose_all();
    stale(nullptr); // a master gone: perhaps a failover
    co_return ec;
}

channel_subscriber::listener* channel_subscriber::find_listener(entry& e,
                                                                std::uint64_t id) noexcept {
    if (e.first.id == id)
        return &e.first;
    for (listener& l : e.more)
        if (l.id == id)
            return &l;
    return nullptr;
}

coro::awaitable<subscriber::subscription>
channel_subscriber::async_subscribe(std::string channel, subscriber::sink& target) {
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
    subscriber::subscription sub(this, std::move(channel), next_id_);
    if (inserted) {
        append_command(conn_->outbox(), {sharded_ ? "SSUBSCRIBE" : "SUBSCRIBE", sub.channel()});
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

void channel_subscriber::unsubscribe(const std::string& channel, std::uint64_t id) {
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
        append_command(conn_->outbox(), {sharded_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel});
        conn_->flush();
    }
}

bool channel_subscriber::stale_reply(std::string_view channel, bool subscribe) {
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

void channel_subscriber::on_reply(std::span<const node> n) {
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
        stale(nullptr);
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

void channel_subscriber::on_error(std::string_view error) {
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
    stale(&*r);
}

void channel_subscriber::lose(channel_map& lost) {
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

void channel_subscriber::lose_all() {
    in_flight_.clear(); // a new connection owes no replies
    channel_map lost;
    std::swap(lost, channels_);
    lose(lost);
}

} // namespace ssebridge::redis::detail
