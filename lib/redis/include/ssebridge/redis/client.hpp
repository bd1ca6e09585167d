// A pipelined Redis client for commands (PUBLISH and friends).
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/resp.hpp>

#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis::detail {
class connection;
}

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

    /// Runs `s` on `keys` and `args`: `EVALSHA`, then `EVAL` when the server
    /// has not cached the script (first use, restart, `SCRIPT FLUSH`). An
    /// error reply is returned, not thrown.
    coro::awaitable<reply> async_eval(script s, std::vector<std::string> keys,
                                      std::vector<std::string> args);

    /// PUBLISH, returning how many subscribers received the message.
    coro::awaitable<std::int64_t> async_publish(std::string channel, std::string message);

    void close();
    [[nodiscard]] bool connected() const noexcept;

private:
    struct pending;

    coro::executor ex_;
    config cfg_;
    std::unique_ptr<detail::connection> conn_;
    std::deque<std::shared_ptr<pending>> pending_;
};

} // namespace ssebridge::redis
