// Recording (DESIGN.md §7): the names, ids and scripts of a session's log
// (lib/worker records events in it; the gateway opens, pages and cancels).
#pragma once

#include <ssebridge/wire/event.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::wire {

/// The id of a session's terminal event, whoever records it: the last id a
/// Redis stream can hold, so that Redis itself refuses any entry after it —
/// nothing follows a terminal event, and no writer checks for one per event.
inline constexpr entry_id sealing_id{UINT64_MAX, UINT64_MAX};

/// The Lua script a gateway runs when it creates a session: the session's
/// log `KEYS[1]`, empty, expiring after `ARGV[1]` seconds — unless it exists
/// already. Its placeholder entry's id is `0-1`: any id a writer chooses
/// comes after it. From then on the log tells that the session exists: a GET of its
/// events before the worker's first one waits instead of answering 404.
std::string_view open_script() noexcept;
std::string_view open_script_sha1() noexcept;

/// The Lua script of a cancel: the tombstone `KEYS[1]` (`cancel_key`) for
/// `ARGV[1]` seconds, then `PUBLISH KEYS[2]` (`control_channel`) `cancel`
/// (`SPUBLISH` when ARGV[2] is `s`). Returns how many workers heard it.
std::string_view cancel_script() noexcept;
std::string_view cancel_script_sha1() noexcept;

/// The Lua script of a replay's page: the entries of the log `KEYS[1]`
/// after `ARGV[1]` (`-`, or `(<id>`), as `XRANGE` gives them, as many as
/// fit in `ARGV[2]` bytes (ids and messages; one entry at least, however
/// big) and at most `ARGV[3]`; `ARGV[4]` is `sealing_id`, the end. Returns `{entries, ended}`:
/// `ended` is 1 when the log has no entry after them. Redis reads no more than that, so neither it
/// nor the reader holds more than one page.
std::string_view log_page_script() noexcept;
std::string_view log_page_script_sha1() noexcept;

/// The Lua script of a chat's new answer (DESIGN.md §8): `KEYS[1]` is the
/// chat's record (`chat_key`), `ARGV[1]` the owner (`chat_owner`), `ARGV[2]`
/// the new session, `ARGV[3]` the seconds the record lives. A chat nobody
/// holds, or one this owner holds, now names the new session: 1. A chat
/// another owner holds is left alone: 0.
std::string_view chat_claim_script() noexcept;
std::string_view chat_claim_script_sha1() noexcept;

/// Name of the log entry's field that holds the event message.
inline constexpr std::string_view log_message_field = "m";

/// The message of a recorded event, live and replayed: `message` (a JSON
/// object, as `event_message` makes it) with `"id":"<id>"` as its first
/// member.
std::string recorded_message(std::string_view id, std::string_view message);

} // namespace ssebridge::wire
