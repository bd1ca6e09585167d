#include <ssebridge/worker/publish.hpp>

#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>

namespace ssebridge::worker {

namespace asio = boost::asio;
using boost::system::system_error;

namespace {
// Commands built outside the coroutines (braced lists).
std::string stream_info_command(const std::string& log) {
    return redis::make_command({"XINFO", "STREAM", log});
}
std::string entry_command(const std::string& log, const std::string& id) {
    return redis::make_command({"XRANGE", log, id, id});
}

/// Refused, not run: the cluster is electing a new master, or a slot moves.
bool refused_unrun(const redis::reply& r) {
    return r.is_error() && (r.value.starts_with("CLUSTERDOWN") || r.value.starts_with("TRYAGAIN"));
}

/// Refusals in a row before a write gives up: another writer recording as
/// fast can win each round, but not for ever.
constexpr int max_overtaken = 64;

/// What the id after `round` refusals in a row must pass, the log's newest
/// being `newest`: newest + 2^round. A writer that lost a round to another
/// as fast leaves room for the other's writes made while it asked, so it
/// wins within a few rounds instead of trailing one behind for ever.
wire::entry_id overtaking(wire::entry_id newest, int round) {
    const std::uint64_t skip = std::uint64_t{1} << std::min(round, 32);
    if (newest.seq > std::numeric_limits<std::uint64_t>::max() - skip)
        return {newest.ms + 1, 0};
    return {newest.ms, newest.seq + skip - 1}; // next_event_id adds the last one
}

bool can_wait_for(const system_error& e) {
    return e.code() == asio::error::not_connected || e.code() == asio::error::connection_reset;
}

coro::awaitable<published> record_once(redis::client& redis, std::string session_id,
                                       std::string message, recording log) {
    session_writer writer(redis, std::move(session_id), log);
    co_return co_await writer.record(std::move(message));
}
} // namespace

session_writer::session_writer(redis::client& redis, std::string session_id, recording log)
    : redis_(redis)
    , id_(std::move(session_id))
    , keep_(log)
    , recorder_(id_, log, redis.is_cluster()) {}

// Not a coroutine: the message is built (and checked) before anything is
// sent, and nothing the caller passes by view is kept.
coro::awaitable<published> session_writer::publish(std::string_view event_type,
                                                   std::string_view payload_json) {
    return record(wire::event_message(event_type, payload_json).value());
}

coro::awaitable<published> session_writer::record(std::string message) {
    wire::entry_id id = id_for(message);
    if (cancelled_)
        throw system_error(wire::error::session_cancelled);
    co_return co_await write(std::move(message), id);
}

coro::awaitable<published> session_writer::record_cancelled() {
    return write(wire::event_message(wire::event_type::cancelled).value(), wire::sealing_id);
}

coro::awaitable<published> session_writer::write(std::string message, wire::entry_id id) {
    if (ended_)
        throw system_error(wire::error::session_ended);
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    const auto give_up = std::chrono::steady_clock::now() + keep_.reconnect_wait;
    auto pause = std::chrono::steady_clock::duration(std::chrono::milliseconds(50));
    const bool terminal = id == wire::sealing_id;
    std::string commands;
    recorder::transaction t =
        recorder_.append(commands, message, id, std::chrono::steady_clock::now());
    bool sent_before = false; ///< lost with its connection: it may have run
    int overtaken = 0;
    for (;;) {
        std::optional<redis::reply> r;
        bool lost = false;
        try {
            r = co_await redis_.async_transaction(commands, t.commands);
        } catch (const system_error& e) {
            if (!can_wait_for(e) || std::chrono::steady_clock::now() + pause > give_up) {
                recorder_.expiry_unsure();
                throw;
            }
            lost = e.code() == asio::error::connection_reset;
        }
        if (r && refused_unrun(*r) && std::chrono::steady_clock::now() + pause <= give_up)
            r.reset();
        if (!r) { // Redis is coming back (a restart, a failover): the same id again
            sent_before = sent_before || lost;
            backoff.expires_after(pause);
            co_await backoff.async_wait(asio::use_awaitable);
            pause =
                std::min<std::chrono::steady_clock::duration>(pause * 2, std::chrono::seconds(1));
            continue;
        }
        if (r->is_error() || r->type != redis::resp_type::array || r->elements.size() < 2) {
            recorder_.expiry_unsure();
            throw std::runtime_error("recording the event failed: " +
                                     (r->is_error() ? r->value : std::string("unexpected reply")));
        }
        const redis::reply& added = r->elements[0];
        std::int64_t receivers = r->elements[1].integer;
        if (!added.is_error()) {
            ended_ = terminal;
            co_return published{added.value, receivers};
        }
        // Refused: the id is not after the log's newest. That is this very
        // event (sent before its connection was lost), the log's end, or
        // another writer that went ahead.
        bool ours = false;
        if (sent_before)
            ours = co_await holds(id, message);
        if (ours) {
            ended_ = terminal;
            co_return published{id.to_string(), receivers};
        }
        wire::entry_id newest = co_await newest_id();
        if (newest == wire::sealing_id) {
            ended_ = true;
            throw system_error(wire::error::session_ended);
        }
        if (++overtaken > max_overtaken)
            throw std::runtime_error("recording the event failed: " + added.value);
        id = next_event_id(overtaking(newest, overtaken));
        commands.clear();
        t = recorder_.append(commands, message, id, std::chrono::steady_clock::now());
        sent_before = false;
    }
}

coro::awaitable<wire::entry_id> session_writer::newest_id() {
    redis::reply info = co_await redis_.async_exec(stream_info_command(recorder_.log_key()));
    for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2)
        if (info.elements[i].value == "last-generated-id")
            co_return wire::entry_id::parse(info.elements[i + 1].value).value_or(wire::entry_id{});
    co_return wire::entry_id{}; // no log (yet, or any more)
}

coro::awaitable<bool> session_writer::holds(const wire::entry_id& id, const std::string& message) {
    redis::reply r = co_await redis_.async_exec(entry_command(recorder_.log_key(), id.to_string()));
    co_return r.elements.size() == 1 && r.elements[0].elements.size() == 2 &&
        r.elements[0].elements[1].elements.size() == 2 &&
        r.elements[0].elements[1].elements[1].value == message;
}

coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type, std::string_view payload_json,
                                         const recording& log) {
    return record_once(redis, std::string(session_id),
                       wire::event_message(event_type, payload_json).value(), log);
}

coro::awaitable<published> record_message(redis::client& redis, std::string_view session_id,
                                          std::string message, const recording& log) {
    return record_once(redis, std::string(session_id), std::move(message), log);
}

} // namespace ssebridge::worker
