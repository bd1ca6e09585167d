#include <ssebridge/wire/record.hpp>

#include "hex.hpp"

#include <openssl/sha.h>

#include <ssebridge/wire/names.hpp>

#include <algorithm>
#include <array>

namespace ssebridge::wire {

namespace {
// Keep in step with lib/worker/python/ssebridge_worker.py (a test compares them).
// A batch of events, of one session or several (one cluster slot): KEYS
// are three per session (log, channel, tombstone); ARGV[1] 's' (SPUBLISH),
// ARGV[2] MAXLEN, ARGV[3] TTL, then per event: its session's number, '1' to
// record it even when cancelled, the message. The tombstone is read once per
// session and the log's expiry set once per batch: the per-event cost is the
// XADD and the PUBLISH. An event Redis refuses (its log key holds something
// else) gets its error in its place; the others of the batch go on.
constexpr std::string_view script = R"(local publish = ARGV[1] == 's' and 'SPUBLISH' or 'PUBLISH'
local cancelled, written, out = {}, {}, {}
for i = 4, #ARGV, 3 do
  local k = tonumber(ARGV[i]) * 3 - 2
  if cancelled[k] == nil then
    cancelled[k] = redis.call('EXISTS', KEYS[k + 2]) == 1
  end
  if cancelled[k] and ARGV[i + 1] ~= '1' then
    out[#out + 1] = false
    out[#out + 1] = 0
  else
    local m = ARGV[i + 2]
    local id = redis.pcall('XADD', KEYS[k], 'MAXLEN', '~', ARGV[2], '*', 'm', m)
    out[#out + 1] = id
    if type(id) == 'table' then
      out[#out + 1] = 0
    else
      written[k] = true
      out[#out + 1] = redis.call(publish, KEYS[k + 1], '{"id":"' .. id .. '",' .. string.sub(m, 2))
    end
  end
end
for k in pairs(written) do
  redis.call('EXPIRE', KEYS[k], ARGV[3])
end
return out
)";

constexpr std::string_view cancel = R"(redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return redis.call(ARGV[2] == 's' and 'SPUBLISH' or 'PUBLISH', KEYS[2], 'cancel')
)";

// XADD then trim to nothing: an empty stream (XGROUP's MKSTREAM would leave a group).
constexpr std::string_view open = R"(if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '0', '*', 'm', '{}')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
)";

std::string sha1_hex(std::string_view text) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return detail::to_hex(digest);
}
} // namespace

std::string_view record_script() noexcept {
    return script;
}

std::string_view record_script_sha1() noexcept {
    static const std::string sha = sha1_hex(script);
    return sha;
}

std::string_view open_script() noexcept {
    return open;
}

std::string_view open_script_sha1() noexcept {
    static const std::string sha = sha1_hex(open);
    return sha;
}

std::string_view cancel_script() noexcept {
    return cancel;
}

std::string_view cancel_script_sha1() noexcept {
    static const std::string sha = sha1_hex(cancel);
    return sha;
}

record_call record_arguments(std::span<const record_entry> entries, std::size_t max_len,
                             std::chrono::seconds ttl, bool sharded) {
    record_call call;
    call.args.reserve(3 + 3 * entries.size());
    call.args.emplace_back(sharded ? "s" : "");
    call.args.push_back(std::to_string(max_len));
    call.args.push_back(std::to_string(ttl.count()));
    std::vector<std::string_view> sessions; // batches are small: a scan beats a map
    for (const record_entry& e : entries) {
        auto at = std::find(sessions.begin(), sessions.end(), e.session_id);
        if (at == sessions.end()) {
            sessions.push_back(e.session_id);
            call.keys.push_back(log_key(e.session_id));
            call.keys.push_back(session_channel(e.session_id));
            call.keys.push_back(cancel_key(e.session_id));
            at = sessions.end() - 1;
        }
        call.args.push_back(std::to_string(at - sessions.begin() + 1));
        call.args.emplace_back(e.even_if_cancelled ? "1" : "0");
        call.args.emplace_back(e.message);
    }
    return call;
}

std::string recorded_message(std::string_view id, std::string_view message) {
    std::string out;
    out.reserve(message.size() + id.size() + 8);
    out += R"({"id":")";
    out += id;
    out += "\",";
    out += message.substr(1);
    return out;
}

} // namespace ssebridge::wire
