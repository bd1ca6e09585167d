// Server-Sent Events frame encoding: pure functions over strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::sse {

/// The position of the first CR or LF in `text`, or npos. Two memchr scans:
/// much faster than `find_first_of("\r\n")`, which tests each character
/// against the set.
std::size_t find_line_break(std::string_view text) noexcept;

/// The idle keepalive comment of the wire contract.
inline constexpr std::string_view keepalive_frame = ": keepalive\n\n";

/// Appends `data: <data>\n\n`. A CR, LF or CRLF inside `data` starts a new
/// `data:` line, so any payload yields exactly one well-formed frame and a
/// conforming decoder returns `data` with its line breaks as LF.
void append_data_frame(std::string& out, std::string_view data);

/// Appends `: <text>\n\n`; line breaks in `text` become separate comment lines.
void append_comment(std::string& out, std::string_view text);

/// An event with the optional fields of the SSE format (opt-in, for
/// EventSource clients and resume).
struct event {
    std::string_view data;
    std::string_view type = {}; ///< `event:` line, omitted when empty
    std::string_view id = {};   ///< `id:` line, omitted when empty (must hold no line break)
    std::optional<unsigned> retry_ms = {};
};

/// Appends the full frame of `e`: `id:`, `event:`, `retry:` lines (when
/// set) and then its data as in `append_data_frame`.
void append_event(std::string& out, const event& e);

/// Convenience: the frame of `data` as a new string.
std::string data_frame(std::string_view data);

} // namespace ssebridge::sse
