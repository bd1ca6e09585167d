// What every session of a gateway shares.
#pragma once

#include "metrics.hpp"

#include <ssebridge/coro/budget.hpp>
#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/gateway/gateway.hpp>
#include <ssebridge/gateway/stream.hpp>
#include <ssebridge/http/server.hpp>
#include <ssebridge/kafka/mock_cluster.hpp>
#include <ssebridge/kafka/producer.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/subscriber.hpp>

#include <boost/intrusive/list.hpp>

#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

namespace ssebridge::gateway {

class session;

/// What links a session into its table's list of live streams: it unlinks
/// itself when it goes (no iterator kept, no node allocated).
using live_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
/// The live streams of a gateway.
using live_list = boost::intrusive::list<session, boost::intrusive::base_hook<live_hook>,
                                         boost::intrusive::constant_time_size<false>>;

/// The session objects of one gateway, and what their clock and the Redis
/// reader share (session.cpp, clock.cpp).
struct session_table {
    session_table(coro::executor ex, const config& cfg);

    stream_group streams;       ///< every stream's limits, from the config; events written
    live_list live;             ///< live streams (POST and GET), for the clock and shutdown
    std::size_t live_count = 0; ///< how many are in `live` (its size is not kept)
    std::size_t objects = 0;    ///< sessions not yet destroyed (ended ones too)
    coro::notifier gone;        ///< the last session object went
    /// Streams that got events in the Redis read being handed out: each is
    /// written once, when the read's messages have all been noted.
    std::vector<session*> unflushed;
    /// Unfinished sessions nobody watches: id → when to cancel (cancel.cpp).
    std::unordered_map<std::string, coro::clock::time_point> abandoned;
    /// Bytes of log pages the replays hold (--replay-memory): a page is
    /// taken before it is read and given back once its client took it.
    coro::budget replay_memory;
    /// Log pages being read from Redis at once (`replay_reads_at_once`): a
    /// storm of replays queues one page's work on Redis and on the loop,
    /// not more, so live events are not stuck behind it (replay.cpp).
    coro::budget replay_reads;
    static constexpr std::size_t replay_reads_at_once = 1;
};

/// The gateway's Redis connections.
struct redis_part {
    explicit redis_part(coro::executor ex, const config& cfg);
    redis::subscriber subscriber;
    redis::client commands; ///< logs, tokens' sessions, the gateway's own records
};

/// The gateway's Kafka producer, and the mock with --kafka-brokers embedded.
struct kafka_part {
    kafka_part(coro::executor ex, const config& cfg);
    std::unique_ptr<kafka::mock_cluster> mock;
    std::string bootstrap;
    kafka::producer producer;
};

/// What the readiness round found (readiness.cpp); GET /readyz reports it.
struct readiness_state {
    /// Why new sessions cannot start here; empty: ready.
    std::string not_ready = "starting";
    std::size_t canaries = 0; ///< readiness channels among the subscriber's
};

struct gateway::state {
    state(coro::executor ex, const config& cfg);

    coro::executor ex;
    config cfg;
    kafka_part kafka;
    redis_part redis;
    http::server server;
    session_table sessions;
    readiness_state readiness;
    std::string token_secret; ///< of the session tokens (authorize.cpp, open.cpp)
    counters stats;
    histograms timings;
    coro::task_group background; ///< the gateway's own tasks: connections, producer, clock
    coro::task_group records;    ///< session ends being recorded: awaited before the connections go
    bool stopping = false;
    std::vector<state*> shards; ///< of this process, for /metrics; empty: this one alone
};

/// Session channels subscribed (the readiness canary's own is not one).
std::size_t session_subscriptions(const gateway::state& st) noexcept;

/// Writes the streams a Redis read gave events to (`unflushed`): the
/// subscriber calls it once the read's messages have all been noted.
void flush_streams(gateway::state& st);

/// How often `watch_sessions` looks at the sessions: a quarter of the
/// shortest configured period, between 10 ms and 250 ms.
coro::clock::duration clock_period(const config& cfg);

/// The gateway's one clock for all sessions: keepalives, the ack, idle and
/// write timeouts, each acted on within one `clock_period` of its moment.
/// Runs until cancelled.
coro::awaitable<void> watch_sessions(gateway::state& st);

/// How often the readiness canary goes round.
inline constexpr auto readiness_period = std::chrono::milliseconds(500);

/// Checks readiness every `readiness_period` (GET /readyz reports the last
/// round): a canary through Redis Pub/Sub and back, and a Kafka broker up.
coro::awaitable<void> watch_readiness(gateway::state& st);

/// POST /v1/react/sessions: the whole session pipeline (DESIGN.md §2).
coro::awaitable<void> serve_session(gateway::state& st, http::exchange& ex);

/// GET /v1/react/sessions/{id}/events: replay from the cursor, then live (§7).
coro::awaitable<void> serve_events(gateway::state& st, http::exchange& ex);

/// POST /v1/react/sessions/{id}/cancel[?wait=S]: tombstone, control message,
/// then 200 once the worker's `cancelled` is recorded, else 202 (§7).
coro::awaitable<void> serve_cancel(gateway::state& st, http::exchange& ex);

/// The AI SDK profile (DESIGN.md §8): POST /v1/chat (useChat's), GET
/// /v1/chat/{chatId}/stream (its resume), POST /v1/chat/{chatId}/cancel
/// (Stop, answered as the session cancel is). The chat's cookie opens them.
coro::awaitable<void> serve_chat(gateway::state& st, http::exchange& ex);
coro::awaitable<void> serve_chat_stream(gateway::state& st, http::exchange& ex);
coro::awaitable<void> serve_chat_cancel(gateway::state& st, http::exchange& ex);

/// The cancel of session `id` (whose caller is allowed to), answered:
/// 200 once its worker confirmed within `?wait=`, else 202; 404, 409.
coro::awaitable<void> cancel_and_answer(gateway::state& st, http::exchange& ex, std::string id);

/// The session id of a request on /v1/react/sessions/{id}/…, once its token
/// (`Authorization: Bearer …` or `?token=`) opens it; else answers 404/401.
coro::awaitable<std::optional<std::string>> authorize(gateway::state& st, http::exchange& ex);

/// Cancels session `id` for whoever runs it: the tombstone (a request not
/// yet picked up never runs) and a message on its control channel (a
/// running handler stops). Returns how many workers heard it. Throws
/// `system_error` when Redis fails.
coro::awaitable<std::int64_t> cancel_session(gateway::state& st, const std::string& id);

/// A stream of unfinished session `id` lost its client: unless someone
/// watches it again within --cancel-after-disconnect, the session is cancelled.
void note_abandoned(gateway::state& st, const std::string& id);

/// Answers 503 with `reason` (and `X-Session-Id` when given): the one place
/// that counts `rejected`.
coro::awaitable<void> refuse(gateway::state& st, http::exchange& ex, std::string_view reason,
                             std::string_view session_id = {});

/// Runs `op` among the gateway's record tasks (awaited before a drain
/// closes the Redis connection); a failure is logged as `context: why`.
void spawn_record(gateway::state& st, coro::awaitable<void> op, std::string context);

/// `EXISTS` of the session's log: whether the session exists.
std::string log_exists_command(const std::string& id);

/// Cancels the abandoned sessions whose time has come (the gateway's clock).
void reap_abandoned(gateway::state& st, coro::clock::time_point now);

} // namespace ssebridge::gateway
