// The RESP parser on anything a Redis (or something posing as one) may send.
// Property: split anywhere, the input parses to the same replies.
#include <ssebridge/redis/resp.hpp>

#include <cstdint>
#include <cstdlib>

using namespace ssebridge::redis;

namespace {
std::vector<reply> parse_all(std::string_view in, bool& failed) {
    constexpr parser_limits limits{1u << 16, 1u << 10, 16};
    std::vector<reply> replies;
    std::vector<node> nodes;
    boost::system::error_code ec;
    failed = false;
    while (!in.empty()) {
        std::size_t used = parse(in, nodes, ec, limits);
        if (ec) {
            failed = true;
            break;
        }
        if (used == 0)
            break;
        if (used > in.size() || nodes.empty())
            std::abort();
        replies.push_back(to_reply(nodes));
        in.remove_prefix(used);
    }
    return replies;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    bool failed = false;
    std::vector<reply> whole = parse_all(in, failed);
    if (failed || whole.empty())
        return 0;
    // A prefix holds a prefix of the replies: never one the whole does not have.
    bool prefix_failed = false;
    std::vector<reply> head = parse_all(in.substr(0, size / 2), prefix_failed);
    if (prefix_failed || head.size() > whole.size())
        std::abort();
    for (std::size_t i = 0; i < head.size(); ++i)
        if (head[i].type != whole[i].type || head[i].value != whole[i].value ||
            head[i].integer != whole[i].integer ||
            head[i].elements.size() != whole[i].elements.size())
            std::abort();
    return 0;
}
