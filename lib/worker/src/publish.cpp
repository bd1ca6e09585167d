#include <ssebridge/worker/publish.hpp>

#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace ssebridge::worker {

namespace asio = boost::asio;

namespace {
coro::awaitable<published> record(redis::client& redis, std::vector<std::string> keys,
                                  std::vector<std::string> args,
                                  std::chrono::milliseconds reconnect_wait) {
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    auto give_up = std::chrono::steady_clock::now() + reconnect_wait;
    auto pause = std::chrono::steady_clock::duration(std::chrono::milliseconds(50));
    std::optional<redis::reply> sent;
    while (!sent) {
        try {
            sent = co_await redis.async_eval({wire::record_script(), wire::record_script_sha1()},
                                             keys, args);
        } catch (const boost::system::system_error& e) {
            if (e.code() != asio::error::not_connected ||
                std::chrono::steady_clock::now() + pause > give_up)
                throw;
        }
        if (sent && sent->is_error() &&
            (sent->value.starts_with("CLUSTERDOWN") || sent->value.starts_with("TRYAGAIN")) &&
            std::chrono::steady_clock::now() + pause <= give_up)
            sent.reset(); // refused, not run: the cluster is electing a new master
        if (!sent) {      // not sent: Redis is coming back (a restart, a failover)
            backoff.expires_after(pause);
            co_await backoff.async_wait(asio::use_awaitable);
            pause =
                std::min<std::chrono::steady_clock::duration>(pause * 2, std::chrono::seconds(1));
        }
    }
    redis::reply r = std::move(*sent);
    if (r.is_error() && r.value.starts_with(wire::cancelled_reply))
        throw boost::system::system_error(wire::error::session_cancelled);
    if (r.is_error() || r.type != redis::resp_type::array || r.elements.size() != 2)
        throw std::runtime_error("recording the event failed: " +
                                 (r.is_error() ? r.value : std::string("unexpected reply")));
    co_return published{std::move(r.elements[0].value), r.elements[1].integer};
}

std::vector<std::string> record_keys(std::string_view session_id) {
    return {wire::log_key(session_id), wire::session_channel(session_id),
            wire::cancel_key(session_id)};
}

std::vector<std::string> record_args(std::string message, const recording& log,
                                     bool even_if_cancelled, bool sharded) {
    return {std::move(message), std::to_string(log.max_len), std::to_string(log.ttl.count()),
            even_if_cancelled ? "1" : "0", sharded ? "s" : ""};
}
} // namespace

coro::awaitable<published> record_message(redis::client& redis, std::string_view session_id,
                                          std::string message, const recording& log) {
    return record(redis, record_keys(session_id),
                  record_args(std::move(message), log, false, redis.is_cluster()),
                  log.reconnect_wait);
}

coro::awaitable<published> record_cancelled(redis::client& redis, std::string_view session_id,
                                            const recording& log) {
    return record(redis, record_keys(session_id),
                  record_args(wire::event_message(wire::event_type::cancelled).value(), log, true,
                              redis.is_cluster()),
                  log.reconnect_wait);
}

// Not a coroutine: the message is built (and checked) before anything is sent,
// and nothing the caller passes by view is kept.
coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type, std::string_view payload_json,
                                         const recording& log) {
    return record_message(redis, session_id, wire::event_message(event_type, payload_json).value(),
                          log);
}

} // namespace ssebridge::worker
