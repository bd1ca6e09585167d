// The decisions of one client stream, without I/O (DESIGN.md §2): what an
// event, a tick of the gateway's clock, a lost backend or a finished write
// does to it. The coroutine around it (session.cpp) only moves bytes.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/ui_stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::gateway::detail {

struct stream_limits {
    std::size_t max_queue = 1024; ///< events waiting (or held) per stream
    coro::clock::duration ack_timeout = std::chrono::seconds(10);
    coro::clock::duration idle_timeout = std::chrono::seconds(300);
    coro::clock::duration keepalive = std::chrono::seconds(15);
    coro::clock::duration write_timeout = std::chrono::seconds(10);
};

/// Which stream of a session this is. A POST's (creator, joiner) has `id:`
/// lines only after `carry_ids`.
enum class stream_kind : std::uint8_t {
    creator,    ///< the POST that created the session: waits for worker_ack
    subscriber, ///< a GET of its events: replay then live, frames with `id:` lines
    joiner,     ///< a repeated POST (same Idempotency-Key): replay then live
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
/// that the writer takes whole. A creator's stream holds events until
/// `worker_ack` (bounded) and releases them after it in order. The event
/// that ends the session (`wire::ends_session`) is the last frame; a
/// recorded event not newer than the last one queued is a duplicate and
/// dropped. While a subscriber replays the log, live messages are held
/// (bounded) and released through the same duplicate check afterwards.
/// Every stream ends exactly once: completed, or with one error event.
class stream_state {
public:
    /// `limits` must outlive the stream (they are shared by all streams).
    stream_state(const stream_limits& limits, coro::clock::time_point now,
                 stream_kind kind = stream_kind::creator);

    /// A message from the session's channel.
    step on_message(std::string_view message, coro::clock::time_point now);
    /// The subscription is gone (Redis connection lost).
    step on_lost();
    /// The gateway is draining.
    step on_shutdown();
    /// The headers are out: keepalives and the ack deadline start.
    void on_stream_started(coro::clock::time_point now,
                           coro::clock::time_point ack_deadline = coro::clock::time_point::max());
    /// The gateway's clock: keepalive, ack and idle timeouts, the write timeout.
    step on_tick(coro::clock::time_point now);

    /// Replay (subscribers): from `begin_replay` on, live messages are held;
    /// log entries come through `on_replayed`, a cursor the log does not
    /// cover through `on_reset`; `end_replay` releases the held messages.
    void begin_replay();
    step on_replayed(std::string_view message, coro::clock::time_point now);
    step on_reset(std::string_view reason);
    /// The logged event the client resumes after (it has it): nothing up to
    /// it goes out again, and when it ended the session the stream ends now.
    step on_cursor(std::string_view message);
    /// True (once) when live messages were dropped during the replay: they
    /// are in the log, so read it again from the last entry before ending.
    bool take_replay_overflow() noexcept;
    step end_replay(coro::clock::time_point now);

    /// Takes what is ready to write into `out` (its previous content is
    /// dropped): queued frames, else the error event once the stream ends
    /// with one. Nothing (nullopt) when the writer should wait.
    std::optional<chunk> take(std::string& out, coro::clock::time_point now);
    /// The write of the last taken chunk finished.
    void on_written(coro::clock::time_point now);

    /// True while events still go out (the stream has not begun to end).
    [[nodiscard]] bool open() const noexcept {
        return phase_ == phase::awaiting_ack || phase_ == phase::relaying;
    }
    /// True once the last chunk has been taken.
    [[nodiscard]] bool finished() const noexcept { return phase_ == phase::done; }
    /// Recorded events go out with `id:` lines from now on (a POST whose
    /// client asked for SSE), each its event id followed by `suffix` (the
    /// POST's cursor: `wire::cursor_suffix`); a subscriber's always have
    /// them, bare.
    void carry_ids(std::string suffix = {}) {
        ids_ = true;
        id_suffix_ = std::move(suffix);
    }
    /// The stream speaks the AI SDK's UI message stream (DESIGN.md §8) from
    /// now on, its message `message_id`: its first chunk, `start`, is queued,
    /// and every event (and the error that ends it) goes out translated by
    /// `wire::ui_message_stream`, without `id:` lines.
    void speak_ui(std::string_view message_id);
    /// Whose stream it is: the creator's, a joiner's or a subscriber's.
    [[nodiscard]] stream_kind kind() const noexcept { return kind_; }
    /// Why the stream ended with an error, when it did.
    [[nodiscard]] std::optional<wire::end_code> end_code() const noexcept { return end_code_; }
    /// The error event's text while it waits to be taken.
    [[nodiscard]] std::string_view end_text() const noexcept {
        return held_ ? std::string_view(held_->end_text) : std::string_view();
    }
    /// True when the stream ended with its terminal event (not an error).
    [[nodiscard]] bool completed() const noexcept { return completed_; }

    /// When the headers went out (`on_stream_started`); the epoch before.
    [[nodiscard]] coro::clock::time_point started_at() const noexcept { return started_at_; }
    [[nodiscard]] bool started() const noexcept { return started_at_ != coro::clock::time_point{}; }
    /// From the headers to `worker_ack`, once it came (creators only).
    [[nodiscard]] std::optional<coro::clock::duration> ack_wait() const noexcept {
        if (acked_at_ == coro::clock::time_point{})
            return std::nullopt;
        return acked_at_ - started_at_;
    }
    /// The id of the newest recorded event queued or held.
    [[nodiscard]] const std::optional<wire::entry_id>& last_id() const noexcept { return last_id_; }

private:
    enum class phase : std::uint8_t {
        awaiting_ack, ///< events are held until worker_ack
        relaying,     ///< events are queued for the client
        terminal,     ///< the terminal event is queued: nothing else goes out
        ending,       ///< an error ends the stream once what is queued is out
        done,         ///< the last chunk is taken
    };

    /// What a stream holds only for a while (events before the ack, live
    /// ones during a replay, an error's text): allocated when first needed
    /// and freed when done, so that a relaying stream does not carry it.
    struct held_back {
        std::string frames;            ///< frames that came before worker_ack
        std::size_t events = 0;        ///< event frames in `frames`
        std::vector<std::string> live; ///< live messages that came during a replay
        std::string end_text;          ///< the error event's text, until taken
    };
    held_back& held();
    void drop_held_if_empty() noexcept;

    step relay(std::string_view message, const wire::event_info& info, coro::clock::time_point now);
    step end(wire::end_code code, std::string text);
    step queue(std::string_view message, const std::optional<wire::entry_id>& id);
    void append_frame(std::string& out, std::string_view message,
                      const std::optional<wire::entry_id>& id);

    const stream_limits* limits_;
    stream_kind kind_;
    bool ids_;                                    ///< `id:` lines on recorded events
    std::string id_suffix_;                       ///< what follows the event id in them
    std::unique_ptr<wire::ui_message_stream> ui_; ///< the AI SDK profile's translation
    phase phase_;
    std::string pending_; ///< frames not yet taken, in order
    std::unique_ptr<held_back> held_;
    std::size_t pending_events_ = 0;
    std::optional<wire::entry_id> last_id_; ///< of the last recorded event queued or held
    std::optional<wire::end_code> end_code_;
    coro::clock::time_point ack_deadline_ = coro::clock::time_point::max();
    coro::clock::time_point last_event_;
    coro::clock::time_point last_write_{};
    coro::clock::time_point write_started_{};
    coro::clock::time_point started_at_{};
    coro::clock::time_point acked_at_{};
    bool writing_ = false;
    bool replaying_ = false;
    bool live_overflow_ = false;  ///< live messages were dropped during the replay
    bool held_terminal_ = false;  ///< a terminal event is among the held ones
    bool terminal_taken_ = false; ///< the last chunk taken ends with the terminal event
    bool completed_ = false;
};

} // namespace ssebridge::gateway::detail
