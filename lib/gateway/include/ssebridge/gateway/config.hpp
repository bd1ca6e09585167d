// Gateway settings: command-line flags, each also read from the environment.
#pragma once

#include <ssebridge/cli.hpp>
#include <ssebridge/redis/config.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ssebridge::gateway {

/// When a POST's stream carries `id:` lines (DESIGN.md §1): never (the seed's
/// frames for every client), when its `Accept` lists `text/event-stream`
/// (an SSE client, which then resumes by `Last-Event-ID`), or always.
enum class post_stream_ids : std::uint8_t { never, negotiated, always };

struct config {
    std::string listen = "127.0.0.1:8080";
    std::size_t threads = 0; ///< shards, each a thread (service); 0: one a core
    bool reuse_port = false; ///< SO_REUSEPORT on the listening socket (the service's shards)
    std::string redis = "redis://127.0.0.1:6379";
    std::string redis_cluster; ///< HOST:PORT,…: a Redis Cluster (sharded Pub/Sub) instead
    double redis_timeout = 3;  ///< seconds Redis may leave a command (or a PING) unanswered
    std::string kafka_brokers = "embedded";
    std::string kafka_topic = "react_requests";
    double ack_timeout = 10;   ///< seconds from Kafka delivery to worker_ack
    double keepalive = 15;     ///< seconds without a write before `: keepalive`
    double idle_timeout = 300; ///< seconds without an event after the ack
    double kafka_timeout = 5;  ///< seconds for a Kafka delivery report
    double write_timeout = 10; ///< seconds for one write to a client
    std::size_t max_sessions = 10000;
    std::size_t max_connections = 0; ///< open client connections; 0: the descriptor limit less 128
    std::size_t max_body = 1024 * 1024;    ///< the producer's message.max.bytes follows it
    std::size_t max_queue = 1024;          ///< events waiting per session before "client too slow"
    std::size_t replay_memory = 16u << 20; ///< bytes of log pages all replays hold at once
    gateway::post_stream_ids post_stream_ids = gateway::post_stream_ids::negotiated;
    std::string token_secret; ///< HMAC key of session tokens; empty: a random one per process
    /// A request header (the caller's identity, set by the front proxy) that
    /// Idempotency-Keys are bound to; empty: keys are global.
    std::string idempotency_scope;
    double token_ttl = 86400; ///< seconds a session token stays valid
    double log_ttl = 3600;    ///< seconds a new session's (empty) log lives before its first event
    double cancel_after_disconnect = 30; ///< seconds a session nobody watches lives on; 0: forever
    std::string log_level = "info";
    std::string log_format = "text"; ///< or json: one object a line
    std::string static_dir;          ///< files served under / (the demo page); empty: none
    std::string cors_origin; ///< origins (comma-separated, `*`: any) whose pages may call the API
};

/// What the flags asked for: a gateway to start, or the --help text.
struct parsed_config {
    std::optional<config> cfg; ///< set when the gateway should start
    std::string help;          ///< the --help text, when it was asked for
};

/// Reads `args` (without the program name) over the defaults, after the
/// environment (`SSEBRIDGE_LISTEN`, …) read through `getenv` and the file of
/// `--config`; flags win. A refusal names the flag, variable or file:line.
cli::result<parsed_config> parse_config(const std::vector<std::string>& args,
                                        const std::function<const char*(const char*)>& getenv);

/// The --help text.
std::string usage();

/// `max_connections` resolved: 0 means the process's descriptor limit less 128.
std::size_t connection_limit(const config& cfg);

/// Where `--listen` asks to serve: a host (an address or a name, resolved
/// when the gateway binds) and a port (0: any free one).
struct listen_address {
    std::string host;
    std::uint16_t port = 0;
};
/// `cfg.listen` read as `HOST:PORT` (`[V6]:PORT` too), or a refusal.
cli::result<listen_address> listen_settings(const config& cfg);

/// The Redis settings of `cfg` (`--redis`, `--redis-cluster`,
/// `--redis-timeout`), or a refusal naming the bad flag.
cli::result<redis::config> redis_settings(const config& cfg);

} // namespace ssebridge::gateway
