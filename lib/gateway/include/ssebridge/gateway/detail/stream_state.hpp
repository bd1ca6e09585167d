// The decisions of one client stream, without I/O (DESIGN.md §2): what an
// event, a tick of the gateway's clock, a lost backend or a finished write
// does to it. The coroutine around it (session.cpp) only moves bytes.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/wire/event.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::gateway::detail {

struct stream_limits {
    std::size_t max_queue = 1024; ///< events waiting (or held before the ack) per stream
    coro::clock::duration ack_timeout = std::chrono::seconds(10);
    coro::clock::duration idle_timeout = std::chrono::seconds(300);
    coro::clock::duration keepalive = std::chrono::seconds(15);
    coro::clock::duration write_timeout = std::chrono::seconds(10);
};

/// What the caller does after feeding the machine.
enum class step : std::uint8_t {
    none,      ///< nothing for the writer
    wake,      ///< bytes or the end are ready: wake the writer
    malformed, ///< the message was skipped as malformed (count it)
    abort,     ///< drop the connection now: a write waited too long
};

/// One chunk the writer takes.
struct chunk {
    bool last = false;      ///< the end of the stream: the response ends with it
    std::size_t events = 0; ///< event frames in it
};

/// The state of one stream, from subscription to its end.
///
/// Events are appended as SSE frames to one buffer (no object per event)
/// that the writer takes whole. Before `worker_ack` events are held
/// (bounded) and released after it in order; a terminal event
/// (`FinalAnswerStreamEnd`, `cancelled`) is the last frame; a recorded
/// event not newer than the last one queued is a duplicate and dropped.
/// Every stream ends exactly once: completed, or with one error event.
class stream_state {
public:
    explicit stream_state(const stream_limits& limits, coro::clock::time_point now);

    /// A message from the session's channel.
    step on_message(std::string_view message, coro::clock::time_point now);
    /// The subscription is gone (Redis connection lost).
    step on_lost();
    /// The gateway is draining.
    step on_shutdown();
    /// The headers are out: keepalives and the ack deadline start.
    void on_stream_started(coro::clock::time_point now, coro::clock::time_point ack_deadline);
    /// The gateway's clock: keepalive, ack and idle timeouts, the write timeout.
    step on_tick(coro::clock::time_point now);

    /// Takes what is ready to write into `out` (its previous content is
    /// dropped): queued frames, else the error event once the stream ends
    /// with one. Nothing (nullopt) when the writer should wait.
    std::optional<chunk> take(std::string& out, coro::clock::time_point now);
    /// The write of the last taken chunk finished.
    void on_written(coro::clock::time_point now);

    /// True once the last chunk has been taken.
    [[nodiscard]] bool finished() const noexcept { return phase_ == phase::done; }
    /// Why the stream ended with an error, when it did.
    [[nodiscard]] std::optional<wire::end_code> end_code() const noexcept { return end_code_; }
    /// True when the stream ended with its terminal event (not an error).
    [[nodiscard]] bool completed() const noexcept { return completed_; }

private:
    enum class phase : std::uint8_t {
        awaiting_ack, ///< events are held until worker_ack
        relaying,     ///< events are queued for the client
        terminal,     ///< the terminal event is queued: nothing else goes out
        ending,       ///< an error ends the stream once what is queued is out
        done,         ///< the last chunk is taken
    };

    step end(wire::end_code code, std::string text);
    step queue(std::string_view message);

    stream_limits limits_;
    phase phase_ = phase::awaiting_ack;
    std::string pending_; ///< frames not yet taken, in order
    std::string held_;    ///< frames that came before worker_ack
    std::string end_text_;
    std::size_t pending_events_ = 0;
    std::size_t held_events_ = 0;
    std::optional<wire::entry_id> last_id_; ///< of the last recorded event queued or held
    std::optional<wire::end_code> end_code_;
    coro::clock::time_point ack_deadline_ = coro::clock::time_point::max();
    coro::clock::time_point last_event_;
    coro::clock::time_point last_write_{};
    coro::clock::time_point write_started_{};
    bool streaming_ = false;
    bool writing_ = false;
    bool held_terminal_ = false;  ///< a terminal event is among the held ones
    bool terminal_taken_ = false; ///< the last chunk taken ends with the terminal event
    bool completed_ = false;
};

} // namespace ssebridge::gateway::detail
