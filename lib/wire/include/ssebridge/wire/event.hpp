// Events on a session channel: what the gateway reads from them, and the
// messages workers and the gateway write (DESIGN.md §1, §7).
#pragma once

#include <ssebridge/wire/error.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::wire {

/// The event types the contract gives a meaning to; any other passes through.
namespace event_type {
inline constexpr std::string_view worker_ack = "worker_ack";
inline constexpr std::string_view final_answer_end = "FinalAnswerStreamEnd";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::string_view error = "error";
inline constexpr std::string_view reset = "reset";
} // namespace event_type

enum class event_kind : std::uint8_t { other, ack, final, cancelled, error };

/// Ends the stream of every subscriber: `FinalAnswerStreamEnd` or `cancelled`.
constexpr bool is_terminal(event_kind k) noexcept {
    return k == event_kind::final || k == event_kind::cancelled;
}

/// The id of a recorded event: its Redis stream entry id `<ms>-<seq>`.
struct entry_id {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;

    /// Reads `<ms>-<seq>` (both decimal as Redis writes them: no sign, no
    /// spaces, no leading zero).
    static std::optional<entry_id> parse(std::string_view text) noexcept;
    [[nodiscard]] std::string to_string() const;
    friend constexpr auto operator<=>(const entry_id&, const entry_id&) = default;
};

/// What the gateway needs of a channel message.
struct event_info {
    event_kind kind = event_kind::other;
    std::optional<entry_id> id; ///< the top-level `"id"` of a recorded event
};

/// True for the event that ends a session for every subscriber: a terminal
/// kind, or a recorded `error` (the owning gateway's ack or idle timeout, a
/// worker's failure). A plain, unrecorded `error` passes through, as the
/// seed's clients expect.
constexpr bool ends_session(const event_info& e) noexcept {
    return is_terminal(e.kind) || (e.kind == event_kind::error && e.id);
}

/// Checks that `message` is a JSON object whose `event_type` is a string,
/// without building it (a validating SAX pass), and reads its kind and its
/// id. A repeated key counts by its last occurrence, as in a parsed object.
/// Errors: `event_not_json_object`, `event_without_type`.
result<event_info> inspect_event(std::string_view message) noexcept;

/// `{"event_type":"<type>","payload":<payload_json>}` on one line, the
/// message of the seed's `publish_event`. Error: `payload_not_json`.
result<std::string> event_message(std::string_view type, std::string_view payload_json = "{}");

/// Why the gateway ended a stream with an `error` event.
enum class end_code : std::uint8_t {
    ack_timeout,    ///< no worker_ack in time
    idle_timeout,   ///< no event for too long after the ack
    early_overflow, ///< too many events before worker_ack
    backend_lost,   ///< the Redis connection closed
    slow_client,    ///< too many events waiting for this client
    write_timeout,  ///< one write to this client waited too long
    shutting_down,  ///< the gateway is draining
};
/// How many `end_code`s there are (they number 0 … end_code_count - 1).
inline constexpr std::size_t end_code_count = static_cast<std::size_t>(end_code::shutting_down) + 1;

/// `ack_timeout`, `idle_timeout`, …: the `code` member of the error event.
std::string_view code_name(end_code code) noexcept;

/// True when the client may reconnect (resume) and get the rest: the
/// session itself may still be going on.
bool is_retryable(end_code code) noexcept;

/// `{"event_type":"error","payload":{"error":<text>,"code":<code>,"retryable":<bool>}}`.
std::string error_message(end_code code, std::string_view text);

/// `{"event_type":"reset","payload":{"reason":<reason>}}`: the cursor a
/// client resumes from is not in the log any more (trimmed, expired, never
/// recorded); what follows starts from the oldest retained event.
std::string reset_message(std::string_view reason);

} // namespace ssebridge::wire
