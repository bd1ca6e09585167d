// Minimal leveled logging to stderr: one line per record, timestamped.
#pragma once

#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace ssebridge::log {

enum class level { debug, info, warn, error, off };

/// "debug", "info", "warn", "error" or "off"; nullopt for anything else.
std::optional<level> level_from_name(std::string_view name) noexcept;

/// How a record is written: `text` (`<time> <level> <message>`) or `json`,
/// one object a line for log pipelines: `{"time","level","session"?,"event"}`.
enum class format { text, json };
/// "text" or "json"; nullopt for anything else.
std::optional<format> format_from_name(std::string_view name) noexcept;
void set_format(format f) noexcept;

/// Records below this level are dropped (default: info).
void set_level(level l) noexcept;
[[nodiscard]] bool enabled(level l) noexcept;
/// Writes one record; `session`, when not empty, is the session it is about.
void write(level l, std::string_view line, std::string_view session = {});

template <class... Args>
void print(level l, const Args&... args) {
    if (!enabled(l))
        return;
    std::ostringstream out;
    (out << ... << args);
    write(l, out.str());
}

/// A record about session `id`: `session <id>: …` in text, a `session` field in JSON.
template <class... Args>
void session_event(level l, std::string_view id, const Args&... args) {
    if (!enabled(l))
        return;
    std::ostringstream out;
    (out << ... << args);
    write(l, out.str(), id);
}

template <class... Args>
void debug(const Args&... a) {
    print(level::debug, a...);
}
template <class... Args>
void info(const Args&... a) {
    print(level::info, a...);
}
template <class... Args>
void warn(const Args&... a) {
    print(level::warn, a...);
}
template <class... Args>
void error(const Args&... a) {
    print(level::error, a...);
}

/// What an exception says, for a log line: a `system_error`'s message
/// (without the source location Boost adds to `what()`), another's `what()`.
std::string describe(const std::exception_ptr& e);

/// True when `e` is a `system_error` with `operation_aborted`: a
/// cancellation, not a failure.
bool is_cancellation(const std::exception_ptr& e) noexcept;

/// Logs `context: <describe(e)>` at `l`, unless `e` is a cancellation: the
/// one handler of "a task ended by an exception".
void failure(level l, std::string_view context, const std::exception_ptr& e);

} // namespace ssebridge::log
