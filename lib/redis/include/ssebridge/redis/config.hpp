// Where a Redis server is and how to log in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::redis {

struct config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username; ///< ACL user; empty means the default user
    std::string password; ///< sent with AUTH when not empty
    std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);

    /// Parses `redis://[[user]:password@]host[:port][/db]` (IPv6 hosts in
    /// brackets). Returns nullopt and a reason in `error` when malformed.
    /// The database number is accepted and ignored: Pub/Sub spans databases.
    static std::optional<config> from_url(std::string_view url, std::string& error);
};

} // namespace ssebridge::redis
