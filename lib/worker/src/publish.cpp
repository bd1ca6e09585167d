#include <ssebridge/worker/publish.hpp>

#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <stdexcept>

namespace ssebridge::worker {

namespace {

// The script's arguments, for EVALSHA (by its SHA-1) or EVAL (by its text).
struct script_call {
    std::string log_key;
    std::string channel;
    std::string message;
    std::string max_len;
    std::string ttl;

    [[nodiscard]] std::string command(std::string_view verb, std::string_view script) const {
        return redis::make_command({verb, script, "2", log_key, channel, message, max_len, ttl});
    }
};

coro::awaitable<published> run_script(redis::client& redis, script_call call) {
    redis::reply r = co_await redis.async_exec(call.command("EVALSHA", wire::record_script_sha1()));
    if (r.is_error() && r.value.starts_with("NOSCRIPT")) {
        // First use on this server (or after a restart): EVAL caches it.
        r = co_await redis.async_exec(call.command("EVAL", wire::record_script()));
    }
    if (r.is_error() || r.type != redis::resp_type::array || r.elements.size() != 2)
        throw std::runtime_error("recording the event failed: " +
                                 (r.is_error() ? r.value : std::string("unexpected reply")));
    co_return published{std::move(r.elements[0].value), r.elements[1].integer};
}

} // namespace

// Not a coroutine: the message is built (and checked) before anything is sent,
// and nothing the caller passes by view is kept.
coro::awaitable<published> publish_event(redis::client& redis, std::string_view session_id,
                                         std::string_view event_type, std::string_view payload_json,
                                         const recording& log) {
    return run_script(redis, {wire::log_key(session_id), wire::session_channel(session_id),
                              wire::event_message(event_type, payload_json).value(),
                              std::to_string(log.max_len), std::to_string(log.ttl.count())});
}

} // namespace ssebridge::worker
