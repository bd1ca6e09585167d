// A pipelined Redis client for commands (PUBLISH and friends).
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/resp.hpp>

#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis::detail {
class connection;
template <class Member>
class shards;
} // namespace ssebridge::redis::detail

namespace ssebridge::redis {

/// A Lua script, known by its text and its SHA-1 (hex) for `EVALSHA`.
struct script {
    std::string_view text;
    std::string_view sha1;
};

/// Encodes a command for `client::async_exec`.
std::string make_command(std::initializer_list<std::string_view> args);

/// Sends commands over one connection without waiting for earlier replies
/// (pipelining); each `async_exec` completes with its own reply.
///
///     redis::client c(ex, cfg);
///     co_await c.async_connect();
///     co_spawn(ex, c.async_run(), detached);   // reads the replies
///     reply r = co_await c.async_exec(make_command({"PUBLISH", ch, msg}));
///
/// With `async_run` there is no reconnection: when the connection fails
/// every pending and later command throws `system_error`. A long-lived owner
/// (the gateway) runs `async_keep_connected` instead. Single-threaded.
/// `async_run` must have returned (after `close()` or a failure) before the
/// client is destroyed.
///
/// On a Redis Cluster (`config::cluster`) it keeps a connection to each
/// master and sends each command to the master of its key's slot
/// (`routing_key`), following MOVED (the slot map is read again) and ASK
/// (a slot migrating: ASKING, then the command, on the node named), and
/// sending again, within `reply_timeout`, what the cluster refused without
/// running it: TRYAGAIN (a multi-key command while its slot migrates) and
/// CLUSTERDOWN (a master lost, its replica not yet elected). The
/// keys of one command must share a slot (hash tags). `async_run` then
/// serves until `close()`, reconnecting to masters the map adds.
class client {
public:
    client(coro::executor ex, config cfg);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Connects and logs in. Throws `system_error` on failure.
    coro::awaitable<void> async_connect();

    /// Reads replies until the connection fails or `close()`; returns the reason.
    coro::awaitable<boost::system::error_code> async_run();

    /// Connects, serves, and reconnects with backoff until cancelled (then
    /// throws `operation_aborted`). While the connection is down commands
    /// throw `not_connected`; a connection lost under pending commands fails
    /// them with `connection_reset`.
    coro::awaitable<void> async_keep_connected();

    /// Sends `command` (see make_command) and returns its reply. A Redis
    /// error reply is returned, not thrown. Cancellation: terminal; the
    /// command may still run on the server.
    coro::awaitable<reply> async_exec(std::string command);

    /// Sends `commands` (one or more, encoded, `count` of them) between
    /// `MULTI` and `EXEC`, in one write, and returns `EXEC`'s reply: one
    /// element per command, an error element for a command that failed as
    /// it ran (the others ran all the same). A command refused as it was
    /// queued discards the whole transaction: its error is returned, and
    /// nothing ran. On a cluster the first command's key routes it (the
    /// keys must share a slot); a redirection is followed as for one command.
    coro::awaitable<reply> async_transaction(std::string commands, std::size_t count);

    /// Runs `s` on `keys` and `args`: `EVALSHA`, then `EVAL` when the server
    /// has not cached the script (first use, restart, `SCRIPT FLUSH`). An
    /// error reply is returned, not thrown.
    coro::awaitable<reply> async_eval(script s, std::vector<std::string> keys,
                                      std::vector<std::string> args);

    /// PUBLISH (SPUBLISH on a cluster), returning how many subscribers
    /// received the message.
    coro::awaitable<std::int64_t> async_publish(std::string channel, std::string message);

    void close();
    /// Connected (on a cluster: to every master of the slot map).
    [[nodiscard]] bool connected() const noexcept;
    /// On a Redis Cluster: Pub/Sub is sharded there (SPUBLISH, SHARDNUMSUB).
    [[nodiscard]] bool is_cluster() const noexcept { return cluster_; }

private:
    struct pending;
    struct node_client; ///< cluster mode: a master's client
    client(coro::executor ex, config cfg, bool shard);

    coro::awaitable<reply> exec_on(client& node, std::string command, bool asking,
                                   std::size_t replies);
    coro::awaitable<reply> exec_in_cluster(std::string command, std::size_t replies);
    coro::awaitable<void> apply(slot_map map);
    node_client& member_of(const cluster_node& node);
    coro::awaitable<void> connect_shard(const cluster_node& node);

    coro::executor ex_;
    config cfg_;
    std::unique_ptr<detail::connection> conn_;
    std::deque<std::shared_ptr<pending>> pending_;
    bool cluster_ = false;
    bool closing_ = false;
    std::unique_ptr<detail::shards<node_client>> shards_; ///< cluster mode: its masters and map
};

} // namespace ssebridge::redis
