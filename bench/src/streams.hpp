// The clients: streams opened on the target, read, cut and resumed.
#pragma once

#include "core.hpp"
#include "measure.hpp"

#include "support/http_client.hpp"

#include <ssebridge/wire/event.hpp>

#include <memory>

namespace ssebridge::bench {

struct run_state;

/// One stream held open by the bench: its connection and the channel its
/// events are published to.
struct stream {
    std::unique_ptr<test::http_client> client;
    tcp::endpoint gateway; ///< target ssebridge: where it was opened (and resumes)
    std::string channel;
    std::string id;    ///< target ssebridge: the session
    std::string token; ///< target ssebridge: X-Session-Token
};

inline const std::string ack_event = wire::event_message(wire::event_type::worker_ack).value();
inline const std::string final_event =
    wire::event_message(wire::event_type::final_answer_end).value();

// The kind of a frame's event; `other` for anything that is not an event.
wire::event_kind kind_of(std::string_view data);

// Opens stream `index`: POST a session (ssebridge) or GET the subscribe URL.
coro::awaitable<void> open_stream(run_state& st, std::size_t index, stream* out);

// Reads a stream until FinalAnswerStreamEnd or its end, recording every event
// but the ack and the final one. `ui`: the stream is the AI SDK profile's
// UI message stream (its start-step is the ack, its finish the end, its
// text-deltas the events).
coro::awaitable<void> read_stream(test::http_client* c, results* r, bool ui = false);

/// Awaits `op` and drops its result (a reader's end reason).
coro::awaitable<void> discard(coro::awaitable<boost::system::error_code> op);

// Comes back for `s` after `cursor` on a new connection: GET …/events, or
// (`by_post`) the stream's POST again with the cursor as Last-Event-ID.
coro::awaitable<void> reopen(stream& s, const std::string& cursor, bool by_post);

/// The Kafka records the target gateways made: ssebridge_sessions_started_total
/// summed over their /metrics.
coro::awaitable<std::size_t> sessions_started(const run_state& st);

// How long a cut reader stays away before it resumes.
constexpr auto away = 200ms;

// The resume scenario's reader: like read_stream, but it checks every id
// (a duplicate is counted, not recorded) and, after `cut_after` events,
// hangs up, stays away for a while and resumes from the last id it has
// (--resume-with: by GET …/events, or by the POST with the last cursor).
coro::awaitable<void> read_resumable(run_state* st, stream* s, std::size_t index,
                                     std::size_t cut_after);

} // namespace ssebridge::bench
