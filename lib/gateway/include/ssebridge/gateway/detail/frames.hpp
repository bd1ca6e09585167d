// The SSE frames a gateway writes for the events of the wire contract.
#pragma once

#include <ssebridge/wire/event.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::gateway::detail {

/// Appends the SSE frame of a valid event message to `out`: the bytes
/// verbatim when they hold no line break, otherwise re-serialised compactly
/// onto one line (line breaks in valid JSON are whitespace between tokens).
/// With an `id`, the frame starts with its `id:` line (for EventSource).
void append_event_frame(std::string& out, std::string_view message, std::string_view id = {});

/// Appends the frame of the `error` event that ends a stream; with a
/// `retry_ms`, its `retry:` line first.
void append_error_frame(std::string& out, wire::end_code code, std::string_view text,
                        std::optional<unsigned> retry_ms = {});

/// The `retry:` hint for a stream that ends with `code` and can be resumed:
/// for the ends that end every stream of a gateway in the same instant (a
/// drain, its Redis lost), a delay drawn at random from [250, 1250) ms, so
/// that the clients come back spread over a second instead of all at once
/// 3 s later (EventSource's default); none for the others.
std::optional<unsigned> retry_hint(wire::end_code code);

} // namespace ssebridge::gateway::detail
