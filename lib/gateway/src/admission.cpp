// Admission of a request that may stream (DESIGN.md §1, §7): its checks,
// room for it, its `Idempotency-Key` (create, join, or conflict) and, for a
// reader, its token and cursor.
#include "pipeline.hpp"

#include <ssebridge/wire/http.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/system/system_error.hpp>

namespace ssebridge::gateway {

namespace {

/// What an `Idempotency-Key` says about a POST.
struct claim {
    enum class outcome { create, join, conflict, failed } what = outcome::failed;
    std::string id; ///< the session to create, or to join
};

std::string claim_command(const std::string& redis_key, const std::string& value,
                          const std::string& ttl) {
    return redis::make_command({"SET", redis_key, value, "NX", "GET", "EX", ttl});
}
std::string drop_log_command(const std::string& id) {
    return redis::make_command({"DEL", wire::log_key(id)});
}

/// Claims `redis_key` (`wire::idempotency_key`) for a new session whose log
/// exists before the claim does (so whoever reads the claim finds the
/// session), or names the session that holds it already. A lost race drops
/// the log it made for nothing.
coro::awaitable<claim> claim_idempotency(gateway::state& st, std::string redis_key,
                                         std::string body_hash) {
    std::string id = wire::make_session_id();
    std::string ttl = log_ttl(st);
    try {
        redis::reply opened = co_await open_log(st, id, ttl);
        if (opened.is_error())
            co_return claim{};
        redis::reply r = co_await st.redis.commands.async_exec(
            claim_command(redis_key, id + ":" + body_hash, ttl));
        if (r.type == redis::resp_type::nil)
            co_return claim{claim::outcome::create, id};
        if (r.is_error())
            co_return claim{};
        co_await st.redis.commands.async_exec(drop_log_command(id));
        std::size_t colon = r.value.find(':');
        if (colon == std::string::npos || r.value.substr(colon + 1) != body_hash)
            co_return claim{claim::outcome::conflict, {}};
        co_return claim{claim::outcome::join, r.value.substr(0, colon)};
    } catch (const boost::system::system_error&) {
        co_return claim{};
    }
}

/// The resume cursor: `Last-Event-ID` (EventSource sends it when it
/// reconnects), else `?last_event_id=` (a page's first connection); the
/// event id of a POST stream's cursor (the token has shown the session).
std::string cursor_of(const http::request& req) {
    if (auto header = req.find(wire::http::cursor_header))
        return std::string(wire::cursor_position(*header));
    return std::string(wire::cursor_position(req.query(wire::http::cursor_parameter).value_or("")));
}

/// Whether a POST's stream carries `id:` lines: as --post-stream-ids says,
/// by default when the client asked for SSE.
bool carries_ids(post_stream_ids when, const http::request& req) {
    if (when != post_stream_ids::negotiated)
        return when == post_stream_ids::always;
    auto accept = req.find("Accept");
    return accept && wire::accepts_event_stream(*accept);
}

} // namespace

coro::awaitable<bool> require_json(http::exchange& ex) {
    auto content_type = ex.req().find("Content-Type");
    if (content_type && wire::is_json_media_type(*content_type))
        co_return true;
    co_await ex.respond_error(415, "Content-Type must be application/json");
    co_return false;
}

coro::awaitable<bool> admit(gateway::state& st, http::exchange& ex) {
    if (st.stopping) {
        co_await refuse(st, ex, "server shutting down");
        co_return false;
    }
    if (st.sessions.live_count >= st.cfg.max_sessions) {
        co_await refuse(st, ex, "too many sessions (" + std::to_string(st.cfg.max_sessions) + ")");
        co_return false;
    }
    co_return true;
}

coro::awaitable<void> refuse(gateway::state& st, http::exchange& ex, std::string_view reason,
                             std::string_view session_id) {
    ++st.stats.rejected;
    http::response res = http::error_response(503, reason);
    if (!session_id.empty())
        res.headers.push_back(
            {std::string(wire::http::session_id_header), std::string(session_id)});
    co_await ex.respond(std::move(res));
}

coro::awaitable<std::optional<stream_start>> admit_create(gateway::state& st, http::exchange& ex) {
    bool json = co_await require_json(ex);
    if (!json)
        co_return std::nullopt;
    if (auto checked = wire::check_session_request(ex.req().body); !checked) {
        co_await ex.respond_error(wire::http_status(checked.error()), checked.error().message());
        co_return std::nullopt;
    }
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    stream_start start;
    start.ids = carries_ids(st.cfg.post_stream_ids, ex.req());
    auto cursor = ex.req().find(wire::http::cursor_header);
    auto key = ex.req().find(wire::http::idempotency_key_header);
    if (start.ids || cursor || key) // what cursors and keys are bound to
        start.body_sha256 = wire::sha256_hex(ex.req().body);
    if (cursor) {
        // An SSE client's retry: it follows the session its stream was of,
        // after the event it has, and never starts another.
        auto resumed = wire::check_cursor(st.token_secret, *cursor, start.body_sha256);
        if (!resumed) {
            co_await ex.respond_error(wire::http_status(resumed.error()),
                                      resumed.error().message());
            co_return std::nullopt;
        }
        ++st.stats.post_resumes;
        start.id = std::move(resumed->session_id);
        start.kind = detail::stream_kind::joiner;
        start.cursor = resumed->at.to_string();
        co_return start;
    }
    if (!key) {
        start.id = wire::make_session_id();
        co_return start;
    }
    if (!wire::is_idempotency_key(*key)) {
        co_await ex.respond_error(400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
        co_return std::nullopt;
    }
    // Bound to the caller when the front proxy names it (--idempotency-scope):
    // a key guessed by another caller then names another session.
    std::string_view scope;
    if (!st.cfg.idempotency_scope.empty()) {
        auto named = ex.req().find(st.cfg.idempotency_scope);
        if (!named || named->empty()) {
            std::string reason = "Idempotency-Key needs the " + st.cfg.idempotency_scope +
                                 " header here (the front proxy sets it)";
            co_await ex.respond_error(400, reason);
            co_return std::nullopt;
        }
        scope = *named;
    }
    claim c = co_await claim_idempotency(st, wire::idempotency_key(*key, scope), start.body_sha256);
    if (c.what == claim::outcome::failed) {
        co_await refuse(st, ex, "Redis unavailable");
        co_return std::nullopt;
    }
    if (c.what == claim::outcome::conflict) {
        ++st.stats.idempotency_conflicts;
        co_await ex.respond_error(409, "this Idempotency-Key was used with another body");
        co_return std::nullopt;
    }
    if (c.what == claim::outcome::join) {
        // The session exists: follow it from its start, as GET …/events does.
        ++st.stats.idempotent_joins;
        start.kind = detail::stream_kind::joiner;
    }
    start.id = std::move(c.id);
    start.log_opened = true;
    co_return start;
}

coro::awaitable<std::optional<stream_start>> admit_events(gateway::state& st, http::exchange& ex) {
    std::optional<std::string> id = co_await authorize(st, ex);
    if (!id)
        co_return std::nullopt;
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    stream_start start;
    start.id = std::move(*id);
    start.kind = detail::stream_kind::subscriber;
    start.cursor = cursor_of(ex.req());
    co_return start;
}

} // namespace ssebridge::gateway
