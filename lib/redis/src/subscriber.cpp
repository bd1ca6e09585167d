#include <ssebridge/redis/subscriber.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/redis/detail/connection.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

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

subscriber::subscriber(coro::executor ex, config cfg)
    : ex_(ex)
    , cfg_(std::move(cfg))
    , connected_event_(std::make_unique<coro::event>(ex)) {}

subscriber::~subscriber() = default;

coro::awaitable<void> subscriber::async_run() {
    return detail::keep_connected(cfg_, "subscriber", conn_, [this] { return serve(); });
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
    co_return ec;
}

coro::awaitable<void> subscriber::async_wait_connected() {
    return connected_event_->async_wait();
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
    if (!connected_)
        throw system_error(asio::error::not_connected, "Redis unavailable");
    coro::event confirmed(ex_); // outlives `sub`, which withdraws the listener pointing here
    auto [it, inserted] = channels_.try_emplace(channel);
    entry& e = it->second;
    listener l{&target, e.subscribed ? nullptr : &confirmed, ++next_id_};
    if (inserted)
        e.first = l;
    else
        e.more.push_back(l);
    subscription sub(this, std::move(channel), next_id_);
    if (inserted) {
        append_command(conn_->outbox(), {"SUBSCRIBE", sub.channel()});
        conn_->flush();
    }
    if (!l.confirmed)
        co_return sub; // the channel is subscribed already
    co_await confirmed.async_wait();
    auto found = channels_.find(sub.channel());
    if (found == channels_.end() || !find_listener(found->second, sub.id_)) {
        sub.owner_ = nullptr; // already gone with the connection
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
    channels_.erase(it);
    if (connected_) {
        append_command(conn_->outbox(), {"UNSUBSCRIBE", channel});
        conn_->flush();
    }
}

void subscriber::on_reply(std::span<const node> n) {
    // Pushes are arrays of bulk strings: [kind, channel, payload-or-count].
    if (n.size() != 4 || n[0].type != resp_type::array || n[1].type != resp_type::bulk_string) {
        if (!n.empty() && n[0].type == resp_type::error)
            log::error("redis subscriber: ", n[0].value);
        return;
    }
    std::string_view kind = n[1].value;
    std::string_view channel = n[2].value;
    if (kind == "message") {
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
    } else if (kind == "subscribe") {
        auto it = channels_.find(channel);
        if (it == channels_.end() || it->second.subscribed)
            return;
        entry& e = it->second;
        e.subscribed = true;
        auto confirm = [](listener& l) {
            if (l.confirmed)
                std::exchange(l.confirmed, nullptr)->set();
        };
        confirm(e.first);
        for (listener& l : e.more)
            confirm(l);
    }
}

void subscriber::lose_all() {
    channel_map lost;
    std::swap(lost, channels_);
    auto lose = [](listener& l) {
        if (l.confirmed)
            l.confirmed->set(); // the subscriber finds its listener gone and fails
        else
            l.target->on_lost();
    };
    for (auto& [channel, e] : lost) {
        lose(e.first);
        for (listener& l : e.more)
            lose(l);
    }
}

} // namespace ssebridge::redis
