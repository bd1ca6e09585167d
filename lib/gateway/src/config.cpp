#include <ssebridge/gateway/config.hpp>

#include <ssebridge/cli.hpp>
#include <ssebridge/coro/core.hpp>
#include <ssebridge/log.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace ssebridge::gateway {
namespace {

/// `--post-stream-ids never|negotiated|always`.
cli::option post_stream_ids_option(post_stream_ids& target) {
    static constexpr std::array<std::string_view, 3> names{"never", "negotiated", "always"};
    cli::option o{"--post-stream-ids",
                  "SSEBRIDGE_POST_STREAM_IDS",
                  "WHEN",
                  "when a POST's stream carries SSE id: lines: never (the seed's data: frames "
                  "for every client), negotiated (when its Accept lists text/event-stream: an "
                  "SSE client, which resumes by Last-Event-ID) or always",
                  std::string(names[static_cast<std::size_t>(target)]),
                  {}};
    o.assign = [&target](const std::string& v) -> cli::result<void> {
        auto found = std::find(names.begin(), names.end(), v);
        if (found == names.end())
            return cli::refusal{"--post-stream-ids must be never, negotiated or always, got '" + v +
                                "'"};
        target = static_cast<post_stream_ids>(found - names.begin());
        return {};
    };
    return o;
}

std::vector<cli::option> options(config& c) {
    return std::vector<cli::option>{
               cli::text("--listen", "SSEBRIDGE_LISTEN",
                         "HOST:PORT to serve HTTP on (port 0: any free port)", c.listen),
               cli::count(
                   "--threads", "SSEBRIDGE_THREADS",
                   "share-nothing shards, each a thread with its own connections and sessions "
                   "on the one port (0: one a core)",
                   c.threads, true),
           } +
           cli::redis_options(c.redis, c.redis_cluster, &c.redis_timeout) +
           cli::kafka_options(c.kafka_brokers, c.kafka_topic,
                              "Kafka bootstrap servers, or 'embedded' for an in-process mock "
                              "cluster") +
           std::vector<cli::option>{
               cli::seconds("--ack-timeout", "SSEBRIDGE_ACK_TIMEOUT",
                            "seconds from Kafka delivery to the worker's worker_ack",
                            c.ack_timeout),
               cli::seconds("--keepalive", "SSEBRIDGE_KEEPALIVE",
                            "seconds without a write before a ': keepalive' comment", c.keepalive),
               cli::seconds(
                   "--idle-timeout", "SSEBRIDGE_IDLE_TIMEOUT",
                   "seconds without an event (after the ack) before the stream ends with an error",
                   c.idle_timeout),
               cli::seconds("--kafka-timeout", "SSEBRIDGE_KAFKA_TIMEOUT",
                            "seconds for the Kafka record to be delivered (else 503)",
                            c.kafka_timeout),
               cli::seconds("--write-timeout", "SSEBRIDGE_WRITE_TIMEOUT",
                            "seconds one write to a client may take before it is cut off",
                            c.write_timeout),
               cli::count("--max-sessions", "SSEBRIDGE_MAX_SESSIONS",
                          "concurrent sessions before new ones get 503 (divided among the shards)",
                          c.max_sessions),
               cli::count("--max-connections", "SSEBRIDGE_MAX_CONNECTIONS",
                          "open client connections before new ones get 503 and are closed at once "
                          "(0: the process's descriptor limit less 128, kept for Redis and Kafka)",
                          c.max_connections, true),
               cli::count("--max-body", "SSEBRIDGE_MAX_BODY", "bytes of request body before 413",
                          c.max_body),
               cli::count("--max-queue", "SSEBRIDGE_MAX_QUEUE",
                          "events waiting for one client before it is cut off as too slow",
                          c.max_queue),
               cli::count("--replay-memory", "SSEBRIDGE_REPLAY_MEMORY",
                          "bytes of log entries all replays hold at once, read from Redis and "
                          "not yet taken by their clients' sockets (divided among the shards); "
                          "a replay reads pages of at most 256 KiB, readers beyond it wait their "
                          "turn",
                          c.replay_memory),
               post_stream_ids_option(c.post_stream_ids),
               cli::text("--token-secret", "SSEBRIDGE_TOKEN_SECRET",
                         "key of the session tokens, shared by every gateway of a deployment "
                         "(default: a random one per process)",
                         c.token_secret),
               cli::text("--idempotency-scope", "SSEBRIDGE_IDEMPOTENCY_SCOPE",
                         "request header Idempotency-Keys are bound to, e.g. X-User-Id set by "
                         "the front proxy: the same key from two callers names two sessions, a "
                         "keyed POST without it is refused (default: keys are global)",
                         c.idempotency_scope),
               cli::seconds("--token-ttl", "SSEBRIDGE_TOKEN_TTL",
                            "seconds a session token (X-Session-Token) stays valid", c.token_ttl),
               cli::seconds("--log-ttl", "SSEBRIDGE_LOG_TTL",
                            "seconds a new session's log lives before the worker's first event "
                            "(each recorded event extends it)",
                            c.log_ttl),
               cli::seconds(
                   "--cancel-after-disconnect", "SSEBRIDGE_CANCEL_AFTER_DISCONNECT",
                   "seconds an unfinished session nobody watches any more lives on before it "
                   "is cancelled (0: never)",
                   c.cancel_after_disconnect, true),
           } +
           cli::log_options(c.log_level, c.log_format) +
           std::vector<cli::option>{
               cli::text("--cors-origin", "SSEBRIDGE_CORS_ORIGIN",
                         "origins whose pages may call the API, comma-separated (e.g. "
                         "https://app.example.com; named ones may also send cookies, as the "
                         "AI SDK profile's chats need); '*' for any (no cookies); empty: same "
                         "origin only",
                         c.cors_origin),
               cli::text("--static-dir", "SSEBRIDGE_STATIC_DIR",
                         "directory served under / (the demo page is web/); empty: none",
                         c.static_dir),
           };
}

/// An HTTP field name: one or more tchar (RFC 9110 §5.6.2).
bool is_header_name(std::string_view name) {
    constexpr std::string_view punctuation = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               punctuation.find(c) != std::string_view::npos;
    });
}

} // namespace

std::string usage() {
    config defaults;
    return "Usage: ssebridge-gateway [OPTIONS]\n\n"
           "Streams the events of background workers to HTTP clients as Server-Sent Events.\n"
           "POST /v1/react/sessions produces the request to Kafka and relays the session's\n"
           "Redis channel sse_session:{id} until FinalAnswerStreamEnd; its X-Session-Token\n"
           "opens GET /v1/react/sessions/{id}/events (EventSource: replay from\n"
           "Last-Event-ID, then live) and POST /v1/react/sessions/{id}/cancel (Stop) from\n"
           "any gateway sharing --token-secret. POST /v1/chat takes the AI SDK's useChat\n"
           "body and answers in its UI message stream; GET /v1/chat/{chatId}/stream resumes\n"
           "it and POST /v1/chat/{chatId}/cancel stops it, for the browser whose\n"
           "ssebridge_chat cookie claimed the chat. GET /healthz answers while the process\n"
           "serves, GET /readyz while new sessions can start (a Redis Pub/Sub canary through\n"
           "every master, and a Kafka broker, checked every 0.5 s), GET /metrics in\n"
           "Prometheus text.\n\n" +
           cli::describe(options(defaults)) +
           "\nDurations are in seconds, fractions allowed (--keepalive 0.5).\n"
           "Prints 'kafka.bootstrap=HOST:PORT' when the Kafka mock is embedded, and\n"
           "'listening on HOST:PORT' once it accepts connections. SIGTERM or SIGINT end\n"
           "open streams with an error event and exit 0.\n";
}

cli::result<parsed_config> parse_config(const std::vector<std::string>& args,
                                        const std::function<const char*(const char*)>& getenv) {
    config cfg;
    cli::result<cli::parsed> read = cli::parse(options(cfg), args, getenv);
    if (!read)
        return read.error();
    if (read->help)
        return parsed_config{std::nullopt, usage()};
    if (auto listen = listen_settings(cfg); !listen)
        return listen.error();
    if (auto redis = redis_settings(cfg); !redis)
        return redis.error();
    if (!cfg.idempotency_scope.empty() && !is_header_name(cfg.idempotency_scope))
        return cli::refusal{"--idempotency-scope expects a header name, got '" +
                            cfg.idempotency_scope + "'"};
    return parsed_config{std::move(cfg), {}};
}

cli::result<listen_address> listen_settings(const config& cfg) {
    std::string_view listen = cfg.listen;
    std::size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos)
        return cli::refusal{"--listen expects HOST:PORT, got '" + cfg.listen + "'"};
    std::string_view host = listen.substr(0, colon);
    std::string_view port = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    listen_address out{std::string(host), 0};
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc{} || end != port.data() + port.size())
        return cli::refusal{"--listen has an invalid port: '" + std::string(port) + "'"};
    if (out.host.empty())
        return cli::refusal{"--listen expects HOST:PORT, got '" + cfg.listen + "' (no host)"};
    return out;
}

cli::result<redis::config> redis_settings(const config& cfg) {
    if (auto url = redis::config::from_url(cfg.redis); !url)
        return cli::refusal{"--redis: " + url.error().message()};
    auto settings = redis::config::from_flags(cfg.redis, cfg.redis_cluster);
    if (!settings)
        return cli::refusal{"--redis-cluster: " + settings.error().message() +
                            " (expected HOST:PORT[,HOST:PORT...])"};
    settings->connect_timeout = settings->reply_timeout = coro::seconds(cfg.redis_timeout);
    return *settings;
}

std::size_t connection_limit(const config& cfg) {
    if (cfg.max_connections > 0)
        return cfg.max_connections;
    // What the descriptor limit allows, less room for Redis, Kafka and the
    // socket of a refused client.
    constexpr rlim_t reserved = 128;
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY)
        return 65536;
    return files.rlim_cur > 2 * reserved ? files.rlim_cur - reserved : files.rlim_cur / 2;
}

} // namespace ssebridge::gateway
