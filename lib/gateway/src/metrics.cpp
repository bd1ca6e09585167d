// GET /metrics: the Prometheus text exposition of a gateway's gauges and
// counters, summed over the shards of a process.
#include "state.hpp"

#include <sstream>

namespace ssebridge::gateway {

namespace {
struct metric_info {
    const char* name;
    const char* type;
    const char* help;
};
// In the order of gateway::metric_values.
constexpr metric_info metrics[] = {
    {"ssebridge_sessions_live", "gauge", "Sessions in progress."},
    {"ssebridge_subscriptions", "gauge", "Redis channels subscribed for sessions."},
    {"ssebridge_redis_connected", "gauge",
     "Shards whose Redis subscriber is connected (1 a shard)."},
    {"ssebridge_http_connections", "gauge", "Open client connections."},
    {"ssebridge_http_connections_refused_total", "counter",
     "Connections answered 503 at --max-connections."},
    {"ssebridge_kafka_in_flight", "gauge", "Kafka records awaiting delivery."},
    {"ssebridge_sessions_started_total", "counter", "Streams started."},
    {"ssebridge_event_streams_started_total", "counter",
     "GET .../events streams started (resumes and extra readers)."},
    {"ssebridge_resets_total", "counter", "Resumes from a cursor the log no longer held."},
    {"ssebridge_cancels_total", "counter", "Sessions cancelled on request."},
    {"ssebridge_cancels_confirmed_total", "counter",
     "Cancels the worker confirmed within the wait."},
    {"ssebridge_abandoned_cancels_total", "counter",
     "Sessions cancelled because nobody watched them any more."},
    {"ssebridge_idempotent_joins_total", "counter",
     "Repeated POSTs (same Idempotency-Key and body) that joined their session."},
    {"ssebridge_idempotency_conflicts_total", "counter",
     "Idempotency-Keys reused with another body (409)."},
    {"ssebridge_sessions_completed_total", "counter", "Streams ended by FinalAnswerStreamEnd."},
    {"ssebridge_client_disconnects_total", "counter", "Sessions ended by the client."},
    {"ssebridge_ack_timeouts_total", "counter", "Sessions without worker_ack in time."},
    {"ssebridge_idle_timeouts_total", "counter", "Sessions without events for too long."},
    {"ssebridge_slow_clients_total", "counter", "Clients cut off for not keeping up."},
    {"ssebridge_write_timeouts_total", "counter",
     "Clients cut off for a write that waited too long."},
    {"ssebridge_backend_lost_total", "counter", "Sessions ended by a lost Redis connection."},
    {"ssebridge_rejected_total", "counter", "Requests answered 503."},
    {"ssebridge_malformed_messages_total", "counter", "Channel messages skipped as malformed."},
    {"ssebridge_events_relayed_total", "counter", "Event frames written to clients."},
    {"ssebridge_redis_messages_total", "counter",
     "Messages received on the subscriber connection."},
};
} // namespace

std::vector<std::uint64_t> gateway::metric_values() const {
    const state& st = *state_;
    const counters& c = st.stats;
    return {
        st.sessions.size(),
        subscriptions(),
        st.subscriber.connected() ? 1u : 0u,
        st.server.connections(),
        st.server.refused_connections(),
        static_cast<std::uint64_t>(st.producer.in_flight()),
        c.sessions_started,
        c.event_streams_started,
        c.resets,
        c.cancels,
        c.cancels_confirmed,
        c.abandoned_cancels,
        c.idempotent_joins,
        c.idempotency_conflicts,
        c.sessions_completed,
        c.client_disconnects,
        c.ack_timeouts,
        c.idle_timeouts,
        c.slow_clients,
        c.write_timeouts,
        c.backend_lost,
        c.rejected,
        c.malformed_messages,
        c.events_relayed,
        st.subscriber.stats().messages,
    };
}

std::string gateway::render_metrics(std::span<const std::vector<std::uint64_t>> shards) {
    std::ostringstream out;
    for (std::size_t i = 0; i < std::size(metrics); ++i) {
        std::uint64_t sum = 0;
        for (const auto& values : shards)
            sum += values.at(i);
        const metric_info& m = metrics[i];
        out << "# HELP " << m.name << ' ' << m.help << "\n# TYPE " << m.name << ' ' << m.type
            << '\n'
            << m.name << ' ' << sum << '\n';
    }
    if (shards.size() > 1) { // how the kernel spreads the sessions over the shards
        out << "# HELP ssebridge_shard_sessions_live Sessions in progress on each shard.\n"
               "# TYPE ssebridge_shard_sessions_live gauge\n";
        for (std::size_t shard = 0; shard < shards.size(); ++shard)
            out << "ssebridge_shard_sessions_live{shard=\"" << shard << "\"} "
                << shards[shard].at(0) << '\n';
    }
    return out.str();
}

std::string gateway::metrics_text() const {
    const std::vector<std::uint64_t> mine[] = {metric_values()};
    return render_metrics(mine);
}

} // namespace ssebridge::gateway
