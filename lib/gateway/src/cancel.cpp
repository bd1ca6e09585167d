// How a session is stopped: the cancel endpoint and the cancel of sessions
// nobody watches any more (DESIGN.md §7).
#include "session.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/system/system_error.hpp>

#include <charconv>
#include <chrono>
#include <cmath>

namespace ssebridge::gateway {

namespace asio = boost::asio;

namespace {

/// Hears a session's channel for its end, while a cancel waits for it.
struct end_watch final : redis::subscriber::sink {
    explicit end_watch(coro::executor ex)
        : ended(std::move(ex)) {}
    void on_message(std::string_view message) override {
        auto info = wire::inspect_event(message);
        if (info && wire::ends_session(*info) && !end) {
            end = info->kind;
            ended.set();
        }
    }
    void on_lost() override { ended.set(); }
    coro::event ended;
    std::optional<wire::event_kind> end;
};

// Commands built outside the coroutines (braced lists).
std::string last_entry_command(const std::string& id) {
    return redis::make_command({"XREVRANGE", wire::log_key(id), "+", "-", "COUNT", "1"});
}
std::string numsub_command(const gateway::state& st, const std::string& id) {
    return redis::make_command({"PUBSUB", st.redis.commands.is_cluster() ? "SHARDNUMSUB" : "NUMSUB",
                                wire::session_channel(id)});
}
coro::awaitable<redis::reply> run_cancel_script(gateway::state& st, const std::string& id,
                                                const std::string& ttl) {
    std::string sharded = st.redis.commands.is_cluster() ? "s" : "";
    return st.redis.commands.async_eval({wire::cancel_script(), wire::cancel_script_sha1()},
                                        {wire::cancel_key(id), wire::control_channel(id)},
                                        {ttl, sharded});
}

/// How the session's log ends: nullopt while it goes on, else the kind of
/// its last event when that ended the session (an empty or missing log goes
/// on). Throws on Redis errors.
coro::awaitable<std::optional<wire::event_kind>> logged_end(gateway::state& st,
                                                            const std::string& id) {
    redis::reply r = co_await st.redis.commands.async_exec(last_entry_command(id));
    if (r.is_error())
        throw std::runtime_error("Redis: " + r.value);
    if (r.elements.empty())
        co_return std::nullopt;
    const redis::reply& fields = r.elements[0].elements.at(1);
    auto info = wire::inspect_event(fields.elements.at(1).value);
    if (info && wire::ends_session(*info))
        co_return info->kind;
    co_return std::nullopt;
}

std::string kind_name(wire::event_kind k) {
    switch (k) {
    case wire::event_kind::final:
        return std::string(wire::event_type::final_answer_end);
    case wire::event_kind::cancelled:
        return std::string(wire::event_type::cancelled);
    default:
        return std::string(wire::event_type::error);
    }
}

/// `?wait=` in seconds: 0 to 60, default 5.
std::optional<double> wait_of(const http::request& req) {
    std::optional<std::string> text = req.query("wait");
    if (!text)
        return 5.0;
    double value = -1;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || !(value >= 0 && value <= 60))
        return std::nullopt;
    return value;
}

// Not a coroutine: a braced temporary inside a co_await is freed twice by g++ 12.
coro::awaitable<bool> respond_json(http::exchange& ex, unsigned status, std::string body) {
    return ex.respond(http::response{status, "application/json", std::move(body), {}});
}

/// The cancel of one session, once authorized: 200, 202, 404 or 409.
coro::awaitable<void> cancel_and_wait(gateway::state& st, http::exchange& ex, std::string id,
                                      double wait) {
    end_watch watch(st.ex);
    redis::subscriber::subscription subscription;
    std::optional<wire::event_kind> already;
    bool exists = false;
    bool requested = false; ///< this request set the tombstone
    std::string failure;
    try {
        // Subscribed first: the confirmation cannot slip between check and wait.
        subscription =
            co_await st.redis.subscriber.async_subscribe(wire::session_channel(id), watch);
        redis::reply r = co_await st.redis.commands.async_exec(log_exists_command(id));
        exists = r.integer == 1;
        if (exists)
            already = co_await logged_end(st, id);
        if (exists && !already) {
            co_await cancel_session(st, id);
            ++st.stats.cancels;
            requested = true;
        }
    } catch (const std::exception&) {
        failure = log::describe(std::current_exception());
    }
    if (!failure.empty()) {
        co_await refuse(st, ex, "Redis unavailable: " + failure);
        co_return;
    }
    if (!exists) {
        co_await ex.respond_error(404, "no such session, or its log has expired");
        co_return;
    }
    if (!already) {
        bool heard = co_await coro::with_timeout(watch.ended.async_wait(), coro::seconds(wait));
        if (heard)
            already = watch.end;
    }
    if (already == wire::event_kind::cancelled) {
        if (requested) // (a repeat of a confirmed cancel is answered alike, not counted)
            ++st.stats.cancels_confirmed;
        co_await respond_json(ex, 200, R"({"cancelled":true})");
    } else if (already) {
        co_await ex.respond_error(409,
                                  "the session has ended already (" + kind_name(*already) + ")");
    } else {
        co_await respond_json(
            ex, 202,
            R"({"cancelled":false,"detail":"the worker has not confirmed the cancel yet"})");
    }
}

/// One abandoned session whose time has come: cancelled unless someone
/// (here or on another gateway) watches it again, or it has ended.
coro::awaitable<void> reap(gateway::state& st, std::string id) {
    for (const session& s : st.sessions.live)
        if (s.id() == id)
            co_return; // watched again here
    redis::reply watchers = co_await st.redis.commands.async_exec(numsub_command(st, id));
    if (watchers.elements.size() == 2 && watchers.elements[1].integer > 0)
        co_return; // watched on another gateway
    std::optional<wire::event_kind> end = co_await logged_end(st, id);
    if (end)
        co_return;
    co_await cancel_session(st, id);
    ++st.stats.abandoned_cancels;
    log::session_event(log::level::info, id, "nobody watched it for ",
                       st.cfg.cancel_after_disconnect, " s; cancelled");
}

coro::awaitable<void> logged(coro::awaitable<void> op, std::string context) {
    std::exception_ptr failure;
    try {
        co_await std::move(op);
    } catch (...) {
        failure = std::current_exception();
    }
    log::failure(log::level::warn, context, failure);
}

} // namespace

coro::awaitable<std::int64_t> cancel_session(gateway::state& st, const std::string& id) {
    std::string ttl = std::to_string(std::llround(std::ceil(st.cfg.log_ttl)));
    redis::reply r = co_await run_cancel_script(st, id, ttl);
    if (r.is_error())
        throw std::runtime_error("Redis: " + r.value);
    co_return r.integer;
}

coro::awaitable<void> cancel_and_answer(gateway::state& st, http::exchange& ex, std::string id) {
    std::optional<double> wait = wait_of(ex.req());
    if (!wait) {
        co_await ex.respond_error(400, "wait must be a number of seconds from 0 to 60");
        co_return;
    }
    co_await cancel_and_wait(st, ex, std::move(id), *wait);
}

coro::awaitable<void> serve_cancel(gateway::state& st, http::exchange& ex) {
    std::optional<std::string> id = co_await authorize(st, ex);
    if (!id)
        co_return;
    co_await cancel_and_answer(st, ex, std::move(*id));
}

void spawn_record(gateway::state& st, coro::awaitable<void> op, std::string context) {
    st.records.spawn(logged(std::move(op), std::move(context)));
}

void note_abandoned(gateway::state& st, const std::string& id) {
    if (st.cfg.cancel_after_disconnect <= 0 || st.stopping)
        return;
    st.sessions.abandoned[id] = coro::clock::now() + coro::seconds(st.cfg.cancel_after_disconnect);
}

void reap_abandoned(gateway::state& st, coro::clock::time_point now) {
    for (auto it = st.sessions.abandoned.begin(); it != st.sessions.abandoned.end();) {
        if (it->second > now) {
            ++it;
            continue;
        }
        spawn_record(st, reap(st, it->first),
                     "session " + it->first + ": abandoned, but not cancelled");
        it = st.sessions.abandoned.erase(it);
    }
}

} // namespace ssebridge::gateway
