#include <ssebridge/redis/client.hpp>

#include "shards.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/redis/detail/connection.hpp>

#include <boost/asio/steady_timer.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace ssebridge::redis {

namespace asio = boost::asio;
using boost::system::system_error;

struct client::pending {
    explicit pending(coro::executor ex)
        : done(std::move(ex)) {}
    coro::event done;
    reply result;
    bool failed = false;
    std::size_t replies = 1; ///< still to come (a transaction's +OK and +QUEUED first)
};

std::string make_command(std::initializer_list<std::string_view> args) {
    std::string out;
    append_command(out, args);
    return out;
}

namespace {
// Outside the coroutine: g++ 12 rejects braced arrays in coroutine frames.
std::string publish_command(bool sharded, std::string_view channel, std::string_view message) {
    return make_command({sharded ? "SPUBLISH" : "PUBLISH", channel, message});
}

const std::string& ping_command() {
    static const std::string command = make_command({"PING"});
    return command;
}
const std::string& multi_command() {
    static const std::string command = make_command({"MULTI"});
    return command;
}
const std::string& exec_command() {
    static const std::string command = make_command({"EXEC"});
    return command;
}
} // namespace

struct client::node_client {
    node_client(coro::executor ex, config cfg)
        : c(ex, std::move(cfg), true)
        , settled(ex) {}
    [[nodiscard]] bool connected() const noexcept { return c.connected(); }
    void close() { c.close(); }
    client c;
    coro::event settled; ///< its connection attempt is over (made or failed)
};

namespace {
/// Redirections one command follows before its error is returned.
constexpr int max_redirections = 5;

const std::string& asking_command() {
    static const std::string command = make_command({"ASKING"});
    return command;
}
} // namespace

client::client(coro::executor ex, config cfg)
    : client(ex, std::move(cfg), false) {}

client::client(coro::executor ex, config cfg, bool shard)
    : ex_(ex)
    , cfg_(std::move(cfg))
    , cluster_(!shard && !cfg_.cluster.empty()) {
    if (cluster_)
        shards_ = std::make_unique<detail::shards<node_client>>(ex);
}

client::~client() = default;

coro::awaitable<void> client::async_connect() {
    if (cluster_) {
        slot_map map = co_await detail::discover_slots(cfg_, {});
        co_await apply(std::move(map));
        co_return;
    }
    // Shown as connected only once it is: a command must not queue on a
    // connection still being made (or failing to be).
    auto fresh = std::make_unique<detail::connection>(ex_);
    co_await fresh->async_connect(cfg_);
    conn_ = std::move(fresh);
}

bool client::connected() const noexcept {
    if (!cluster_)
        return conn_ && conn_->is_open();
    return shards_->connected();
}

coro::awaitable<boost::system::error_code> client::async_run() {
    if (cluster_) {
        co_await async_keep_connected();
        co_return boost::system::error_code{};
    }
    if (!conn_)
        throw std::logic_error("redis::client::async_run before async_connect");
    auto on_reply = [this](std::span<const node> nodes) {
        if (pending_.empty())
            return; // a reply nobody asked for: ignore
        if (pending_.front() && --pending_.front()->replies > 0) {
            // A transaction's MULTI or a queued command: keep the first refusal
            // (EXEC then only says EXECABORT).
            reply& first = pending_.front()->result;
            if (!first.is_error() && !nodes.empty() && nodes[0].type == resp_type::error)
                first = to_reply(nodes);
            return;
        }
        auto p = std::move(pending_.front());
        pending_.pop_front();
        if (!p)
            return; // our PING's
        if (!p->result.is_error())
            p->result = to_reply(nodes);
        p->done.set();
    };
    // An idle client PINGs so that a hung server is noticed before a command waits on it.
    auto ping = [this] {
        pending_.push_back(nullptr);
        conn_->send(ping_command());
    };
    boost::system::error_code ec = co_await conn_->async_run(on_reply, ping);
    for (auto& p : pending_) {
        if (!p)
            continue;
        p->failed = true;
        p->done.set();
    }
    pending_.clear();
    co_return ec;
}

coro::awaitable<void> client::async_keep_connected() {
    if (cluster_)
        return shards_->follow(
            cfg_, [this](slot_map map) { return apply(std::move(map)); },
            [this] { return closing_; });
    return detail::keep_connected(cfg_, "client", conn_, [this] { return async_run(); });
}

coro::awaitable<reply> client::async_exec(std::string command) {
    if (cluster_)
        return exec_in_cluster(std::move(command), 1);
    return exec_on(*this, std::move(command), false, 1);
}

coro::awaitable<reply> client::async_transaction(std::string commands, std::size_t count) {
    std::string all = multi_command();
    all += commands;
    all += exec_command();
    if (cluster_)
        return exec_in_cluster(std::move(all), count + 2);
    return exec_on(*this, std::move(all), false, count + 2);
}

coro::awaitable<reply> client::exec_on(client& node, std::string command, bool asking,
                                       std::size_t replies) {
    if (!(node.conn_ && node.conn_->is_open()))
        throw system_error(asio::error::not_connected, "Redis client not connected");
    auto p = std::make_shared<pending>(ex_);
    p->replies = replies;
    if (asking) { // ASKING and the command go out together: it applies to the next command
        node.pending_.push_back(nullptr);
        node.conn_->send(asking_command());
    }
    node.pending_.push_back(p);
    node.conn_->send(command);
    co_await p->done.async_wait();
    if (p->failed)
        throw system_error(asio::error::connection_reset, "Redis connection lost");
    co_return std::move(p->result);
}

// Cluster mode ---------------------------------------------------------------

coro::awaitable<reply> client::exec_in_cluster(std::string command, std::size_t replies) {
    // A transaction goes where its first command's key lives (after MULTI).
    std::optional<std::string_view> key =
        routing_key(std::string_view(command).substr(replies > 1 ? multi_command().size() : 0));
    auto route = [&]() -> client* {
        auto* s = shards_->route(key);
        return s ? &s->member->c : nullptr;
    };
    client* node = route();
    bool asking = false;
    auto retry_until = coro::clock::now() + cfg_.reply_timeout;
    auto backoff = coro::clock::duration(std::chrono::milliseconds(20));
    for (int hop = 0;; ++hop) {
        if (!node || !node->connected())
            throw system_error(asio::error::not_connected, "Redis Cluster node not connected");
        reply r = co_await exec_on(*node, command, asking, replies);
        if (r.is_error() &&
            (r.value.starts_with("TRYAGAIN") || r.value.starts_with("CLUSTERDOWN")) &&
            coro::clock::now() < retry_until) {
            // Refused, not run: a multi-key command while its slot migrates,
            // or a master lost and its replica not yet elected. In a moment.
            asio::steady_timer pause(ex_, backoff);
            co_await pause.async_wait(asio::use_awaitable);
            backoff = std::min<coro::clock::duration>(backoff * 2, std::chrono::milliseconds(500));
            --hop; // (not a redirection)
            node = route();
            continue;
        }
        std::optional<redirection> to;
        if (r.is_error())
            to = parse_redirection(r.value);
        if (!to || hop == max_redirections)
            co_return r;
        asking = to->ask;
        if (!to->ask) // from now on: the map is stale
            shards_->move(to->slot, to->node);
        node_client& next = member_of(to->node);
        if (!next.connected()) {
            co_await connect_shard(to->node);
            co_await coro::throw_if_cancelled();
        }
        node = &next.c;
    }
}

client::node_client& client::member_of(const cluster_node& node) {
    return *shards_
                ->of(node,
                     [this](const cluster_node& n) {
                         return std::make_unique<node_client>(ex_, detail::node_config(cfg_, n));
                     })
                .member;
}

// Connects a master's client and serves it in its shard's run (which
// following awaits); a failure is left to the next map.
coro::awaitable<void> client::connect_shard(const cluster_node& node) {
    member_of(node);
    auto& s = *shards_->find(node);
    if (s.run.size() > 0)
        co_return; // connected, or connecting
    node_client& m = *s.member;
    m.settled.reset();
    s.run.spawn([](detail::shards<node_client>& all, node_client& m) -> coro::awaitable<void> {
        bool up = true;
        try {
            co_await m.c.async_connect();
        } catch (const std::exception&) {
            up = false;
        }
        m.settled.set();
        if (up)
            co_await m.c.async_run();
        all.doubt(); // a master unreachable or gone: perhaps a failover
    }(*shards_, m));
    bool settled = co_await coro::with_timeout(m.settled.async_wait(), cfg_.connect_timeout);
    (void)settled; // (the caller looks at whether it is connected)
}

// Connects to the masters of `map` (those not connected yet), then routes by it.
coro::awaitable<void> client::apply(slot_map map) {
    for (const cluster_node& master : map.masters())
        co_await connect_shard(master);
    shards_->set_map(std::move(map));
}

namespace {
std::string eval_command(std::string_view verb, std::string_view script,
                         const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
    std::string numkeys = std::to_string(keys.size());
    std::vector<std::string_view> words{verb, script, numkeys};
    words.insert(words.end(), keys.begin(), keys.end());
    words.insert(words.end(), args.begin(), args.end());
    std::string out;
    append_command(out, words);
    return out;
}
} // namespace

coro::awaitable<reply> client::async_eval(script s, std::vector<std::string> keys,
                                          std::vector<std::string> args) {
    reply r = co_await async_exec(eval_command("EVALSHA", s.sha1, keys, args));
    if (r.is_error() && r.value.starts_with("NOSCRIPT"))
        r = co_await async_exec(eval_command("EVAL", s.text, keys, args)); // caches it
    co_return r;
}

coro::awaitable<std::int64_t> client::async_publish(std::string channel, std::string message) {
    reply r = co_await async_exec(publish_command(cluster_, channel, message));
    if (r.type != resp_type::integer)
        throw std::runtime_error("PUBLISH failed: " + r.value);
    co_return r.integer;
}

void client::close() {
    if (conn_)
        conn_->close();
    if (cluster_) {
        closing_ = true;
        for (const auto& s : shards_->all())
            s->member->close();
        shards_->doubt();
    }
}

} // namespace ssebridge::redis
