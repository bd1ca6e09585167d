// One Redis TCP connection: connect and log in, then a reader and a
// coalescing writer. The subscriber and the client are built on it.
#pragma once

#include <ssebridge/coro/event.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/resp.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ssebridge::redis::detail {

class connection {
public:
    using reply_handler = std::function<void(std::span<const node>)>;

    explicit connection(coro::executor ex);

    /// Resolves, connects, sends AUTH when configured and a PING, and waits
    /// for their replies, all within `cfg.connect_timeout` (a hung server
    /// accepts connections in the kernel but answers nothing). Throws
    /// `system_error` on failure.
    coro::awaitable<void> async_connect(const config& cfg);

    /// Before `async_run`: sends one command and reads its reply, within
    /// `timeout`. Throws `system_error` on failure (`timed_out`).
    coro::awaitable<reply> async_request(std::string_view command,
                                         std::chrono::steady_clock::duration timeout);

    /// Queues raw command bytes; the writer sends everything queued in one write.
    void send(std::string_view bytes);
    std::string& outbox() noexcept { return out_; }
    void flush();

    /// Reads replies and hands each to `on_reply` (synchronously, with views
    /// valid only during the call) while writing queued commands, until the
    /// connection fails or is closed. Returns the reason: `timed_out` when
    /// something sent got no byte back within `cfg.reply_timeout`. After half
    /// that time of silence `ping` is called to send something that gets a
    /// reply (a PING), so that a hung server is noticed on an idle connection too.
    /// `after_read`, when set, is called after the replies of each read have
    /// been handed out (a batch of them: the owner may act on them together).
    coro::awaitable<boost::system::error_code> async_run(reply_handler on_reply,
                                                         std::function<void()> ping = {},
                                                         std::function<void()> after_read = {});

    void close();
    [[nodiscard]] bool is_open() const { return socket_.is_open(); }

private:
    coro::awaitable<boost::system::error_code> read_loop(reply_handler& on_reply,
                                                         std::function<void()>& after_read);
    coro::awaitable<boost::system::error_code> write_loop();
    coro::awaitable<boost::system::error_code> watch_replies(std::function<void()>& ping);
    coro::awaitable<void> handshake(const config& cfg);
    // Reads until one whole reply is buffered; used before async_run (AUTH).
    coro::awaitable<reply> read_reply();
    // Returns false and sets ec on a protocol error; invokes `f` per reply.
    template <class F>
    bool parse_buffered(boost::system::error_code& ec, F&& f);
    // Room to read into: compacts, or grows up to the reply limit (else ec).
    bool make_room(boost::system::error_code& ec);

    boost::asio::ip::tcp::socket socket_;
    coro::notifier writable_;
    std::string out_;
    std::string writing_;
    std::string in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::vector<node> nodes_;
    std::chrono::steady_clock::duration reply_timeout_{};
    std::chrono::steady_clock::time_point last_read_{};
    /// When the oldest request sent since the last read went out; unset when none.
    std::optional<std::chrono::steady_clock::time_point> unanswered_since_;
};

/// The slot map of the cluster `cfg.cluster` names, from the first of
/// `candidates` (then of `cfg.cluster`) that answers `CLUSTER SLOTS` with a
/// full map. Throws `system_error` (`cluster_error::no_slots`) when none does.
coro::awaitable<slot_map> discover_slots(const config& cfg, std::vector<cluster_node> candidates);

/// What a cluster client or subscriber does with the slot map.
struct slot_map_follower {
    /// The masters it is connected to: asked first (a dead node costs a connect).
    std::function<std::vector<cluster_node>()> connected_masters;
    /// Takes a fresh map: connects to its masters, routes by it.
    std::function<coro::awaitable<void>(slot_map)> apply;
    /// Every master of the current map is connected.
    std::function<bool()> healthy;
    /// Stop following (the owner closes).
    std::function<bool()> done = [] {
        return false;
    };
    /// Ends what following started (the shards' runs), however following
    /// ends: awaited before `follow_slot_map` returns or throws.
    std::function<coro::awaitable<void>()> stop;
};

/// Keeps a cluster's slot map current for `f`: reads it (`discover_slots`)
/// and applies it, then again when `stale` is notified (a MOVED, a lost
/// master, a migrated channel) or every 5 s while healthy, at most every
/// 250 ms; until `f.done()` or cancelled (then throws `operation_aborted`),
/// and then `f.stop()`.
coro::awaitable<void> follow_slot_map(const config& cfg, coro::notifier& stale,
                                      slot_map_follower f);

/// `cfg` aimed at one node of its cluster.
config node_config(const config& cfg, const cluster_node& node);

/// Keeps a connection to `cfg`'s server: puts each new connection into `conn`
/// once it has answered, runs `serve` while it is up, and reconnects with
/// backoff (50 ms doubling to 2 s) until cancelled (then throws
/// `operation_aborted`). `who` names the owner in the log. Every argument
/// but `serve` must outlive the coroutine.
coro::awaitable<void>
keep_connected(const config& cfg, std::string_view who, std::unique_ptr<connection>& conn,
               std::function<coro::awaitable<boost::system::error_code>()> serve);

} // namespace ssebridge::redis::detail
