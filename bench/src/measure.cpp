#include "measure.hpp"

#include <charconv>
#include <fstream>

namespace ssebridge::bench {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}

// The send time carried by an event, or -1: the number after `"t"`, however
// the JSON is spaced (a server may re-serialise it: `"t": 123`), or the one
// a UI message stream's text-delta starts with.
std::int64_t sent_at(std::string_view data) {
    auto at = data.find("\"t\"");
    if (at == std::string_view::npos) {
        constexpr std::string_view delta = "\"delta\":\"";
        at = data.find(delta);
        std::int64_t t = -1;
        if (at != std::string_view::npos)
            std::from_chars(data.data() + at + delta.size(), data.data() + data.size(), t);
        return t;
    }
    std::size_t i = data.find_first_not_of(" \t\r\n", at + 3);
    if (i == std::string_view::npos || data[i] != ':')
        return -1;
    i = data.find_first_not_of(" \t\r\n", i + 1);
    if (i == std::string_view::npos)
        return -1;
    std::int64_t t = -1;
    std::from_chars(data.data() + i, data.data() + data.size(), t);
    return t;
}

coro::awaitable<bool> wait_for(results& r, std::function<bool()> done, steady::duration limit) {
    auto deadline = steady::now() + limit;
    while (!done()) {
        bool woken = co_await r.progress.async_wait(deadline);
        if (!woken)
            co_return done();
    }
    co_return true;
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty())
        return 0;
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
    return sorted[i];
}

std::size_t rss_kib(std::size_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    return 0;
}

} // namespace ssebridge::bench
