// The stages of a stream before `async_stream`, shared by the files of the
// session pipeline (DESIGN.md §2): admission (admission.cpp), the opening
// (open.cpp), the replay (replay.cpp) and the routes that chain them
// (routes.cpp).
#pragma once

#include "state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ssebridge::gateway {

class session;

/// What a request that may stream has been admitted to.
struct stream_start {
    std::string id;
    detail::stream_kind kind = detail::stream_kind::creator;
    std::string cursor;           ///< subscribers: where the replay starts
    bool log_opened = false;      ///< the idempotency claim opened the session's log already
    bool ids = false;             ///< a POST whose frames carry `id:` lines (--post-stream-ids)
    std::string body_sha256;      ///< a POST's: what its cursors are bound to
    bool ui = false;              ///< the AI SDK profile: the stream speaks its UI message stream
    bool only_if_running = false; ///< a chat's resume: 204 when the session has ended
    std::string record_body;      ///< what the Kafka record carries, when not the body itself
    std::vector<http::header> headers; ///< more headers for the stream (a chat's cookie)
};

/// A POST body declared `application/json`; else answers 415 and returns false.
coro::awaitable<bool> require_json(http::exchange& ex);

/// `204 No Content`: nothing to stream.
http::response no_content();

/// Room for one more stream: not draining, not at --max-sessions (else
/// answers 503 and returns false).
coro::awaitable<bool> admit(gateway::state& st, http::exchange& ex);

/// POST /v1/react/sessions before it streams: the checks of §1, room for
/// it, and its `Idempotency-Key`; nullopt once it has been answered.
coro::awaitable<std::optional<stream_start>> admit_create(gateway::state& st, http::exchange& ex);

/// GET …/events before it streams: its token, room for it, its cursor;
/// nullopt once it has been answered.
coro::awaitable<std::optional<stream_start>> admit_events(gateway::state& st, http::exchange& ex);

/// POST /v1/chat before it streams (DESIGN.md §8): useChat's body, room for
/// it, the chat claimed for its owner's key (a cookie); nullopt once answered.
coro::awaitable<std::optional<stream_start>> admit_chat(gateway::state& st, http::exchange& ex);

/// GET /v1/chat/{chatId}/stream before it streams: the chat's latest
/// session, when the cookie shows its owner's key; 204 when there is none.
coro::awaitable<std::optional<stream_start>> admit_chat_stream(gateway::state& st,
                                                               http::exchange& ex);

/// Opens a stream of its kind (subscribe; for a creator, open the log and
/// produce; then the headers); true once its headers are out, false once
/// the request has been answered (a reader whose cursor is at or after the
/// session's terminal event gets 204, and so does a chat's resume once its
/// session has ended). `start` must outlive it.
coro::awaitable<bool> open(session& s, http::exchange& ex, const stream_start& start);

/// Streams the log after `cursor` (subscribers and joiners) and releases
/// the live events held meanwhile. False once the stream is over.
coro::awaitable<bool> replay(session& s, std::string cursor);

/// Runs one command; nullopt when Redis fails.
coro::awaitable<std::optional<redis::reply>> command(gateway::state& st, std::string cmd);

/// The seconds a session's log lives after its last write, as Redis takes them.
std::string log_ttl(const gateway::state& st);

/// The script call that opens a session's (empty) log, so that every gateway
/// sees the session exists.
coro::awaitable<redis::reply> open_log(gateway::state& st, const std::string& id,
                                       const std::string& ttl);

} // namespace ssebridge::gateway
