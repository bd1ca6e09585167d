// The SSE frames a gateway writes for the events of the wire contract.
#pragma once

#include <ssebridge/wire/event.hpp>

#include <string>
#include <string_view>

namespace ssebridge::gateway::detail {

/// Appends the SSE frame of a valid event message to `out`: the bytes
/// verbatim when they hold no line break, otherwise re-serialised compactly
/// onto one line (line breaks in valid JSON are whitespace between tokens).
/// With an `id`, the frame starts with its `id:` line (for EventSource).
void append_event_frame(std::string& out, std::string_view message, std::string_view id = {});

/// Appends the frame of the `error` event that ends a stream.
void append_error_frame(std::string& out, wire::end_code code, std::string_view text);

} // namespace ssebridge::gateway::detail
