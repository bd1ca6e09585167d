#include <ssebridge/worker/publish.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace ssebridge::worker {

namespace asio = boost::asio;

namespace {

struct entry {
    std::string session_id;
    std::string message;
    bool even_if_cancelled = false;
};

/// What became of one event: recorded, refused, or neither (cancelled).
struct result {
    std::optional<published> recorded;
    std::string refused; ///< Redis's error
};

/// Events that go to Redis in one script call, and what became of each.
struct batch {
    std::vector<entry> entries;
    std::vector<result> results; ///< per entry
    std::exception_ptr failure;  ///< of the whole call
};

/// Runs the script, sending it again while Redis cannot be reached or the
/// cluster refuses it unrun, within `reconnect_wait`.
coro::awaitable<redis::reply> eval_patiently(redis::client& redis, wire::record_call call,
                                             std::chrono::milliseconds reconnect_wait) {
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    auto give_up = std::chrono::steady_clock::now() + reconnect_wait;
    auto pause = std::chrono::steady_clock::duration(std::chrono::milliseconds(50));
    std::optional<redis::reply> sent;
    while (!sent) {
        try {
            sent = co_await redis.async_eval({wire::record_script(), wire::record_script_sha1()},
                                             call.keys, call.args);
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
    co_return std::move(*sent);
}

/// Sends `b` as one script call and fills in its results; failures are kept
/// in the batch, for each of its waiters to throw.
coro::awaitable<void> send(redis::client& redis, batch& b, const recording& log) {
    try {
        std::vector<wire::record_entry> entries;
        entries.reserve(b.entries.size());
        for (const entry& e : b.entries) {
            wire::record_entry& w = entries.emplace_back();
            w.session_id = e.session_id;
            w.message = e.message;
            w.even_if_cancelled = e.even_if_cancelled;
        }
        redis::reply r = co_await eval_patiently(
            redis, wire::record_arguments(entries, log.max_len, log.ttl, redis.is_cluster()),
            log.reconnect_wait);
        if (r.is_error() || r.type != redis::resp_type::array ||
            r.elements.size() != 2 * b.entries.size())
            throw std::runtime_error("recording the event failed: " +
                                     (r.is_error() ? r.value : std::string("unexpected reply")));
        b.results.reserve(b.entries.size());
        for (std::size_t i = 0; i < b.entries.size(); ++i) {
            redis::reply& id = r.elements[2 * i];
            result& done = b.results.emplace_back();
            if (id.is_error()) {
                done.refused = std::move(id.value);
            } else if (id.type != redis::resp_type::nil) {
                done.recorded.emplace();
                done.recorded->id = std::move(id.value);
                done.recorded->receivers = r.elements[2 * i + 1].integer;
            }
        }
    } catch (...) {
        b.failure = std::current_exception();
    }
}

published outcome(batch& b, std::size_t i) {
    if (b.failure)
        std::rethrow_exception(b.failure);
    result& r = b.results[i];
    if (!r.refused.empty())
        throw std::runtime_error("recording the event failed: " + r.refused);
    if (!r.recorded)
        throw boost::system::system_error(wire::error::session_cancelled);
    return std::move(*r.recorded);
}

coro::awaitable<published> record_now(redis::client& redis, entry e, recording log) {
    batch b;
    b.entries.push_back(std::move(e));
    co_await send(redis, b, log);
    co_return outcome(b, 0);
}

} // namespace

coro::awaitable<published> record_message(redis::client& redis, std::string_view session_id,
                                          std::string message, const recording& log) {
    return record_now(redis, {std::string(session_id), std::move(message)}, log);
}

coro::awaitable<published> record_cancelled(redis::client& redis, std::string_view session_id,
                                            const recording& log) {
    return record_now(
        redis,
        {std::string(session_id), wire::event_message(wire::event_type::cancelled).value(), true},
        log);
}

// Not a coroutine: the message is built (and checked) before anything is sent,
// and nothing the caller passes by view is kept.
coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type, std::string_view payload_json,
                                         const recording& log) {
    return record_message(redis, session_id, wire::event_message(event_type, payload_json).value(),
                          log);
}

// The recorder ---------------------------------------------------------------

namespace {
struct shared_batch : batch {
    explicit shared_batch(coro::executor ex)
        : sent(std::move(ex)) {}
    coro::event sent;
};
} // namespace

struct detail::recorder_state {
    recorder_state(redis::client& r, recording l, coro::executor e)
        : redis(r)
        , log(std::move(l))
        , ex(std::move(e)) {}
    redis::client& redis;
    recording log;
    coro::executor ex;
    /// The batch that takes new events, per cluster slot (0 on one Redis).
    std::unordered_map<std::uint16_t, std::shared_ptr<shared_batch>> open;
};

namespace {

/// A batch's life: open while the executor runs what is ready, then sent.
coro::awaitable<void> send_soon(std::shared_ptr<detail::recorder_state> st, std::uint16_t slot,
                                std::shared_ptr<shared_batch> b) {
    co_await asio::post(st->ex, asio::use_awaitable);
    auto open = st->open.find(slot);
    if (open != st->open.end() && open->second == b)
        st->open.erase(open);
    co_await send(st->redis, *b, st->log);
    b->sent.set();
}

coro::awaitable<published> record_batched(std::shared_ptr<detail::recorder_state> st, entry e) {
    std::uint16_t slot =
        st->redis.is_cluster() ? redis::key_slot(wire::session_channel(e.session_id)) : 0;
    std::shared_ptr<shared_batch>& open = st->open[slot];
    if (!open || open->entries.size() >= recorder::max_batch) {
        open = std::make_shared<shared_batch>(st->ex);
        asio::co_spawn(st->ex, send_soon(st, slot, open), asio::detached);
    }
    std::shared_ptr<shared_batch> b = open;
    std::size_t index = b->entries.size();
    b->entries.push_back(std::move(e));
    co_await b->sent.async_wait();
    co_return outcome(*b, index);
}

} // namespace

recorder::recorder(redis::client& redis, recording log)
    : state_(std::make_shared<detail::recorder_state>(redis, std::move(log), redis.executor())) {}

recorder::~recorder() = default;

coro::awaitable<published> recorder::publish_event(std::string_view session_id,
                                                   std::string_view event_type,
                                                   std::string_view payload_json) {
    return record_message(session_id, wire::event_message(event_type, payload_json).value());
}

coro::awaitable<published> recorder::record_message(std::string_view session_id,
                                                    std::string message) {
    return record_batched(state_, {std::string(session_id), std::move(message)});
}

coro::awaitable<published> recorder::record_cancelled(std::string_view session_id) {
    return record_batched(state_, {std::string(session_id),
                                   wire::event_message(wire::event_type::cancelled).value(), true});
}

} // namespace ssebridge::worker
