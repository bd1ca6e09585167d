// Where a Redis server is and how to log in.
#pragma once

#include <ssebridge/redis/cluster.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis {

/// Why a Redis URL is refused.
enum class url_error {
    bad_scheme = 1,  ///< not redis://
    bad_ipv6,        ///< an unterminated [IPv6] host
    junk_after_host, ///< something after the host that is not :port
    no_host,
    bad_port,
};
const boost::system::error_category& url_category() noexcept;
inline boost::system::error_code make_error_code(url_error e) noexcept {
    return {static_cast<int>(e), url_category()};
}

struct config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username; ///< ACL user; empty means the default user
    std::string password; ///< sent with AUTH when not empty
    /// Connecting and logging in (AUTH, then a PING answered) must take no longer.
    std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
    /// A command (or the PING sent after this much silence, halved) unanswered
    /// this long means the server hangs (stopped, partitioned without a reset,
    /// a long fork): the connection is dropped and made again. Zero: wait forever.
    std::chrono::steady_clock::duration reply_timeout = std::chrono::seconds(3);
    /// Not empty: a Redis Cluster, found through these nodes (`host` and
    /// `port` are then unused). Subscribers use sharded Pub/Sub (SSUBSCRIBE)
    /// on each channel's master, clients route each command by its key.
    std::vector<cluster_node> cluster;

    /// Parses `redis://[[user]:password@]host[:port][/db]` (IPv6 hosts in
    /// brackets); a `url_error` when malformed. The database number is
    /// accepted and ignored: Pub/Sub spans databases.
    static boost::system::result<config> from_url(std::string_view url);

    /// What the programs' `--redis URL` and `--redis-cluster HOST:PORT,…`
    /// say together: with a node list, a cluster found through those nodes
    /// and logged in to with the URL's credentials; else the URL's server.
    static boost::system::result<config> from_flags(std::string_view url,
                                                    std::string_view cluster_nodes);
};

} // namespace ssebridge::redis

template <>
struct boost::system::is_error_code_enum<ssebridge::redis::url_error> : std::true_type {};
