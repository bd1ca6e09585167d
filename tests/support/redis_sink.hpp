// A subscriber sink that records what it receives, for tests.
#pragma once

#include <ssebridge/redis/subscriber.hpp>

#include <string>
#include <vector>

namespace ssebridge::test {

struct recording_sink : redis::subscriber::sink {
    std::vector<std::string> messages;
    int lost = 0;
    void on_message(std::string_view payload) override { messages.emplace_back(payload); }
    void on_lost() override { ++lost; }
};

/// Subscribes `channel` for `sink` (a plain function: no coroutine lambda).
inline coro::awaitable<redis::subscriber::subscription>
subscribe(redis::subscriber& s, std::string channel, recording_sink& sink) {
    co_return co_await s.async_subscribe(std::move(channel), sink);
}

} // namespace ssebridge::test
