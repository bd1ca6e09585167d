// Session ids and the Redis names of a session (DESIGN.md §1, §7).
#pragma once

#include <string>
#include <string_view>

namespace ssebridge::wire {

/// A new session id: 128 bits from the kernel's CSPRNG as 32 lowercase hex
/// digits (URL-safe, no padding).
std::string make_session_id();

/// True for what `make_session_id` makes: 32 lowercase hex digits.
bool is_session_id(std::string_view id) noexcept;

/// `sse_session:<id>`: the Pub/Sub channel a session's events go through.
std::string session_channel(std::string_view session_id);

/// `sse_log:{sse_session:<id>}`: the stream that records a session's events.
/// Every key of a session carries its channel as a Redis Cluster hash tag,
/// so one script can touch them all.
std::string log_key(std::string_view session_id);

/// `sse_cancel:{sse_session:<id>}`: the tombstone of a cancelled session.
std::string cancel_key(std::string_view session_id);

/// `sse_control:{sse_session:<id>}`: the channel a cancel is published on.
std::string control_channel(std::string_view session_id);

/// `sse_idem:{<SHA-256 of the key, hex>}`: which session an
/// `Idempotency-Key` created. Hashed: a client's key is any text, and the
/// Redis key stays short and cluster-safe. With a `scope` (the caller's
/// identity, say), the hash covers it too: the same key in two scopes
/// names two sessions.
std::string idempotency_key(std::string_view client_key, std::string_view scope = {});

/// True for a usable `Idempotency-Key`: 1 to 255 visible ASCII characters.
bool is_idempotency_key(std::string_view client_key) noexcept;

/// `sse_chat:{<chat id>}`: a chat of the AI SDK profile (DESIGN.md §8):
/// `<owner>:<session id>`, its owner (`chat_owner`) and its latest session.
std::string chat_key(std::string_view chat_id);

/// SHA-256 of `bytes` in hex.
std::string sha256_hex(std::string_view bytes);

} // namespace ssebridge::wire
