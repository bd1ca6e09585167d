// The AI SDK profile (DESIGN.md §8): useChat's POST /v1/chat, its resume
// GET /v1/chat/{chatId}/stream and Stop's POST /v1/chat/{chatId}/cancel.
// The chat id is the client's choice, so a chat is claimed for the browser
// that started it: the gateway gives that browser a random key in a cookie,
// and the chat's record in Redis holds a MAC of it and its latest session.
#include "pipeline.hpp"

#include <ssebridge/wire/http.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/system/system_error.hpp>

namespace ssebridge::gateway {

namespace {

/// The chat key the request's cookie holds, when it holds a well-formed one.
std::optional<std::string> chat_key_of(const http::request& req) {
    auto header = req.find("Cookie");
    if (!header)
        return std::nullopt;
    auto value = wire::cookie_value(*header, wire::http::chat_cookie);
    if (!value || !wire::is_chat_key(*value))
        return std::nullopt;
    return std::string(*value);
}

/// The cookie that gives a browser its chat key: sent back only to the
/// chat routes, never to a script (HttpOnly) nor with another site's
/// requests (SameSite=Strict: no cross-site request can use it).
std::string chat_cookie(const http::request& req, const std::string& key) {
    std::string cookie = std::string(wire::http::chat_cookie) + "=" + key +
                         "; Path=" + std::string(wire::http::chat_route) +
                         "; Max-Age=34560000; HttpOnly; SameSite=Strict";
    auto proto = req.find("X-Forwarded-Proto"); // behind a TLS front (deploy/nginx)
    if (proto && http::same_ignoring_case(*proto, "https"))
        cookie += "; Secure";
    return cookie;
}

// Not coroutines: no braced lists in a coroutine frame (g++ 12).
coro::awaitable<redis::reply> claim_chat(gateway::state& st, const std::string& chat_id,
                                         const std::string& owner, const std::string& session_id) {
    return st.redis.commands.async_eval({wire::chat_claim_script(), wire::chat_claim_script_sha1()},
                                        {wire::chat_key(chat_id)},
                                        {owner, session_id, log_ttl(st)});
}
std::string chat_record_command(std::string_view chat_id) {
    return redis::make_command({"GET", wire::chat_key(chat_id)});
}

/// What a chat's record says to a request on /v1/chat/{chatId}/….
struct chat_lookup {
    enum class outcome { none, foreign, found, failed } what = outcome::failed;
    std::string session_id; ///< found: the chat's latest session
};

coro::awaitable<chat_lookup> look_up_chat(gateway::state& st, const http::request& req) {
    std::string_view chat_id = http::path_segment(req.path(), wire::http::chat_id_segment);
    if (!wire::is_chat_id(chat_id))
        co_return chat_lookup{chat_lookup::outcome::none, {}};
    std::optional<redis::reply> record = co_await command(st, chat_record_command(chat_id));
    if (!record || record->is_error())
        co_return chat_lookup{};
    if (record->type == redis::resp_type::nil)
        co_return chat_lookup{chat_lookup::outcome::none, {}};
    std::size_t colon = record->value.find(':');
    std::optional<std::string> key = chat_key_of(req);
    if (colon == std::string::npos || !key ||
        record->value.substr(0, colon) != wire::chat_owner(st.token_secret, *key))
        co_return chat_lookup{chat_lookup::outcome::foreign, {}};
    co_return chat_lookup{chat_lookup::outcome::found, record->value.substr(colon + 1)};
}

constexpr std::string_view foreign_chat =
    "this chat belongs to another browser (its ssebridge_chat cookie is not this one)";

/// Answers a lookup that found no session of this browser's; true when it did.
/// `none` is the answer when the chat has none.
coro::awaitable<bool> answer_unless_found(gateway::state& st, http::exchange& ex,
                                          const chat_lookup& chat, http::response none) {
    switch (chat.what) {
    case chat_lookup::outcome::found:
        co_return false;
    case chat_lookup::outcome::failed:
        co_await refuse(st, ex, "Redis unavailable");
        co_return true;
    case chat_lookup::outcome::foreign:
        co_await ex.respond_error(403, foreign_chat);
        co_return true;
    default:
        co_await ex.respond(std::move(none));
        co_return true;
    }
}

} // namespace

coro::awaitable<std::optional<stream_start>> admit_chat(gateway::state& st, http::exchange& ex) {
    bool json = co_await require_json(ex);
    if (!json)
        co_return std::nullopt;
    auto chat = wire::check_chat_request(ex.req().body);
    if (!chat) {
        co_await ex.respond_error(wire::http_status(chat.error()), chat.error().message());
        co_return std::nullopt;
    }
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    stream_start start;
    start.id = wire::make_session_id();
    start.ui = true;
    start.record_body = std::move(chat->record_body);
    std::optional<std::string> key = chat_key_of(ex.req());
    if (!key) {
        key = wire::make_chat_key(); // the browser's first chat here
        start.headers.push_back({"Set-Cookie", chat_cookie(ex.req(), *key)});
    }
    std::optional<redis::reply> claimed;
    try {
        claimed = co_await claim_chat(st, chat->chat_id, wire::chat_owner(st.token_secret, *key),
                                      start.id);
    } catch (const boost::system::system_error&) {
        claimed.reset();
    }
    if (!claimed || claimed->is_error()) {
        co_await refuse(st, ex, "Redis unavailable");
        co_return std::nullopt;
    }
    if (claimed->integer == 0) {
        co_await ex.respond_error(403, foreign_chat);
        co_return std::nullopt;
    }
    co_return start;
}

coro::awaitable<std::optional<stream_start>> admit_chat_stream(gateway::state& st,
                                                               http::exchange& ex) {
    chat_lookup chat = co_await look_up_chat(st, ex.req());
    bool answered = co_await answer_unless_found(st, ex, chat, no_content());
    if (answered)
        co_return std::nullopt;
    bool admitted = co_await admit(st, ex);
    if (!admitted)
        co_return std::nullopt;
    stream_start start;
    start.id = std::move(chat.session_id);
    start.kind = detail::stream_kind::subscriber;
    start.ui = true;
    start.only_if_running = true; // useChat resumes on every load: 204 unless it runs
    co_return start;
}

coro::awaitable<void> serve_chat_cancel(gateway::state& st, http::exchange& ex) {
    chat_lookup chat = co_await look_up_chat(st, ex.req());
    bool answered = co_await answer_unless_found(
        st, ex, chat, http::error_response(404, "no such chat, or its record has expired"));
    if (answered)
        co_return;
    co_await cancel_and_answer(st, ex, std::move(chat.session_id));
}

} // namespace ssebridge::gateway
