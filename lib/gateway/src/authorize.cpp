// Who may touch a session: its token (DESIGN.md §7).
#include "state.hpp"

#include <ssebridge/wire/http.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/token.hpp>

#include <chrono>

namespace ssebridge::gateway {

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The token of a request: `Authorization: Bearer …`, else `?token=`.
std::string token_of(const http::request& req) {
    constexpr std::string_view bearer = wire::http::token_scheme;
    auto auth = req.find(wire::http::token_header);
    if (auth && http::same_ignoring_case(auth->substr(0, bearer.size()), bearer))
        return std::string(
            auth->substr(bearer.size())); // (the scheme ignores case: RFC 9110 §11.1)
    return req.query(wire::http::token_parameter).value_or("");
}

} // namespace

coro::awaitable<std::optional<std::string>> authorize(gateway::state& st, http::exchange& ex) {
    std::string id(http::path_segment(ex.req().path(), wire::http::session_id_segment));
    if (!wire::is_session_id(id)) {
        co_await ex.respond_error(404, "no such session");
        co_return std::nullopt;
    }
    std::string token = token_of(ex.req());
    wire::result<void> allowed = wire::error::token_missing;
    if (!token.empty())
        allowed = wire::check_token(st.token_secret, token, id, wire::session_scope, unix_now());
    if (!allowed) {
        co_await ex.respond_error(401, allowed.error().message());
        co_return std::nullopt;
    }
    co_return id;
}

} // namespace ssebridge::gateway
