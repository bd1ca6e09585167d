#include <ssebridge/worker/recorder.hpp>

#include <ssebridge/redis/resp.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <mutex>

namespace ssebridge::worker {

wire::entry_id next_event_id(wire::entry_id after) {
    static std::mutex guard;
    static wire::entry_id last;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::scoped_lock lock(guard);
    last = std::max(last, after);
    if (static_cast<std::uint64_t>(now) > last.ms)
        last = {static_cast<std::uint64_t>(now), 0};
    else
        ++last.seq; // (the same millisecond, or a clock that went back)
    return last;
}

wire::entry_id id_for(std::string_view message) {
    auto info = wire::inspect_event(message);
    if (!info)
        throw boost::system::system_error(info.error());
    bool ends = wire::is_terminal(info->kind) || info->kind == wire::event_kind::error;
    return ends ? wire::sealing_id : next_event_id();
}

recorder::recorder(std::string_view session_id, recording log, bool sharded)
    : log_(wire::log_key(session_id))
    , channel_(wire::session_channel(session_id))
    , keep_(log)
    , sharded_(sharded) {}

recorder::transaction recorder::append(std::string& out, std::string_view message,
                                       wire::entry_id id,
                                       std::chrono::steady_clock::time_point now) {
    const std::string id_text = id.to_string();
    const std::string max_len = std::to_string(keep_.max_len);
    redis::append_command(
        out, {"XADD", log_, "MAXLEN", "~", max_len, id_text, wire::log_message_field, message});
    redis::append_command(out, {sharded_ ? "SPUBLISH" : "PUBLISH", channel_,
                                wire::recorded_message(id_text, message)});
    transaction t{id, 2};
    const bool terminal = id == wire::sealing_id;
    if (terminal || now >= expire_due_) {
        auto refresh = std::max<std::chrono::seconds>(std::chrono::seconds(1), keep_.ttl / 8);
        std::string ttl = std::to_string((terminal ? keep_.ttl : keep_.ttl + refresh).count());
        redis::append_command(out, {"EXPIRE", log_, ttl});
        expire_due_ = now + refresh;
        ++t.commands;
    }
    return t;
}

} // namespace ssebridge::worker
