// The stream routes (POST /v1/react/sessions, GET …/events, and the AI SDK
// profile's POST /v1/chat and GET /v1/chat/{id}/stream): admission,
// then the opening raced by the client's hang-up, then the session streams.
#include "pipeline.hpp"
#include "session.hpp"

#include <ssebridge/wire/token.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

namespace ssebridge::gateway {

namespace asio = boost::asio;

namespace {

enum class stream_route : std::uint8_t { create, events, chat, chat_stream };

// Not a coroutine: no `?:` between awaitables.
coro::awaitable<std::optional<stream_start>> admit_stream(gateway::state& st, http::exchange& ex,
                                                          stream_route route) {
    switch (route) {
    case stream_route::create:
        return admit_create(st, ex);
    case stream_route::chat:
        return admit_chat(st, ex);
    case stream_route::chat_stream:
        return admit_chat_stream(st, ex);
    default:
        return admit_events(st, ex);
    }
}

/// A request on a stream route, up to its headers: the checks, then the
/// session's opening raced by the client hanging up (whichever ends first
/// cancels the other: a client that leaves during the subscribe or the
/// produce cancels them). Once the headers are out the session takes the
/// connection and this frame, like the server's for the connection, is
/// freed: an idle stream holds no coroutine.
coro::awaitable<void> run_stream(gateway::state& st, http::exchange& ex, stream_route route) {
    coro::clock::time_point received = coro::clock::now();
    std::optional<stream_start> start = co_await admit_stream(st, ex, route);
    if (!start)
        co_return;
    auto s = std::make_shared<session>(st, std::move(start->id), start->kind, received);
    if (start->log_opened)
        s->exists();
    if (start->ids)
        s->machine().carry_ids(wire::cursor_suffix(st.token_secret, s->id(), start->body_sha256));
    if (start->ui)
        s->machine().speak_ui(s->id()); // the assistant message is the session
    auto [order, open_error, streaming, watch_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(st.ex, open(*s, ex, *start), asio::deferred),
            ex.async_wait_readable(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 1) { // the client left first
        ex.close_after();
        s->left_before_streaming();
        co_return;
    }
    if (open_error)
        std::rethrow_exception(open_error);
    if (streaming)
        s->attach(ex.take_stream(), std::move(start->cursor));
}

} // namespace

coro::awaitable<void> serve_session(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::create);
}

coro::awaitable<void> serve_events(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::events);
}

coro::awaitable<void> serve_chat(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::chat);
}

coro::awaitable<void> serve_chat_stream(gateway::state& st, http::exchange& ex) {
    return run_stream(st, ex, stream_route::chat_stream);
}

} // namespace ssebridge::gateway
