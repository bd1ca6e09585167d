// The Vercel AI SDK's UI message stream (`ai` ≥ 5, `useChat`; DESIGN.md §8):
// how a session's events become the protocol's chunks. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::wire {

/// The header that marks a UI message stream, and its value.
inline constexpr std::string_view ui_stream_header = "x-vercel-ai-ui-message-stream";
inline constexpr std::string_view ui_stream_version = "v1";

/// What an event becomes in a UI message stream. The mapping is one table,
/// `ui_part_of`:
///
/// | event type | chunks |
/// | --- | --- |
/// | `worker_ack` | `start-step` |
/// | `AgentThoughtStream` | `reasoning-start` (once a run), `reasoning-delta` of `payload.char` |
/// | `FinalAnswerStream` | `text-start` (once a run), `text-delta` of `payload.char` |
/// | `AgentToolCallStart` | `tool-input-start` and `tool-input-available`: `payload.tool_name`, the
/// rest of the payload as `input` | | `FinalAnswerStreamEnd` | `finish-step`, `finish` (`stop`),
/// `[DONE]` | | `cancelled` | `abort`, `[DONE]` | | `error` | `error` (`payload.error` as
/// `errorText`), `[DONE]` | | any other | `data-<type>` with the payload as `data` |
///
/// A reasoning or text run ends (`-end`) when another part begins.
enum class ui_part : std::uint8_t { step, reasoning, text, tool_input, finish, abort, error, data };

/// The part the events of `event_type` become.
ui_part ui_part_of(std::string_view event_type) noexcept;

/// One stream's translation. It remembers the open reasoning or text run
/// and numbers the parts it opens, so a replay of the same events from the
/// start writes the same chunks with the same ids.
class ui_message_stream {
public:
    /// Appends the stream's first chunk, `start` with `message_id` (the
    /// session's id: a resume replays the message from its start, and the
    /// SDK resets what it showed when it sees this chunk again).
    static void append_start(std::string& out, std::string_view message_id);

    /// Appends the chunks of `message`, a JSON event message (recorded or
    /// not; anything else is skipped). True when it ended the stream: its
    /// last frame is `[DONE]`.
    bool append(std::string& out, std::string_view message);

private:
    void close_run(std::string& out);
    void open_run(std::string& out, ui_part run);

    ui_part run_ = ui_part::data; ///< the open reasoning or text run; `data`: none
    std::uint32_t parts_ = 0;     ///< parts opened so far
};

} // namespace ssebridge::wire
