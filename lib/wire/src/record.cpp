#include <ssebridge/wire/record.hpp>

#include "hex.hpp"

#include <openssl/sha.h>

#include <array>

namespace ssebridge::wire {

namespace {
constexpr std::string_view cancel = R"(redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return redis.call(ARGV[2] == 's' and 'SPUBLISH' or 'PUBLISH', KEYS[2], 'cancel')
)";

// XADD then trim to nothing: an empty stream (XGROUP's MKSTREAM would leave a group).
constexpr std::string_view open = R"(if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '0', '0-1', 'm', '{}')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
)";

constexpr std::string_view chat_claim = R"(local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1)";

// Reads XRANGE in batches sized by the largest entry seen (8 first), so
// that Redis reads little more than the page takes. Nothing follows the
// sealing id ARGV[4] (and XRANGE refuses a start after it).
constexpr std::string_view page =
    R"(local from, limit, most = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local page, bytes, largest, n = {}, 0, 1, 8
while true do
  local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', n)
  for _, entry in ipairs(batch) do
    local size = #entry[1] + #(entry[2][2] or '')
    if #page > 0 and bytes + size > limit then return {page, 0} end
    page[#page + 1] = entry
    bytes = bytes + size
    if size > largest then largest = size end
    if entry[1] == ARGV[4] then return {page, 1} end
    from = '(' .. entry[1]
    if #page >= most then return {page, 0} end
  end
  if #batch < n then return {page, 1} end
  n = math.max(1, math.min(most - #page, math.floor((limit - bytes) / largest)))
end
)";

std::string sha1_hex(std::string_view text) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return detail::to_hex(digest);
}
} // namespace

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

std::string_view log_page_script() noexcept {
    return page;
}

std::string_view log_page_script_sha1() noexcept {
    static const std::string sha = sha1_hex(page);
    return sha;
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

std::string_view chat_claim_script() noexcept {
    return chat_claim;
}

std::string_view chat_claim_script_sha1() noexcept {
    static const std::string sha = sha1_hex(chat_claim);
    return sha;
}

} // namespace ssebridge::wire
