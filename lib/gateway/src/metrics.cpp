// GET /metrics: the Prometheus text exposition of a gateway's gauges and counters.
#include "state.hpp"

#include <sstream>

namespace ssebridge::gateway {

std::string gateway::metrics_text() const {
    const state& st = *state_;
    const counters& c = st.stats;
    struct metric {
        const char* name;
        const char* type;
        const char* help;
        std::uint64_t value;
    };
    const metric metrics[] = {
        {"ssebridge_sessions_live", "gauge", "Sessions in progress.", st.sessions.size()},
        {"ssebridge_subscriptions", "gauge", "Redis channels subscribed.", st.subscriber.size()},
        {"ssebridge_redis_connected", "gauge", "1 when the Redis subscriber is connected.",
         st.subscriber.connected() ? 1u : 0u},
        {"ssebridge_http_connections", "gauge", "Open client connections.",
         st.server.connections()},
        {"ssebridge_http_connections_refused_total", "counter",
         "Connections answered 503 at --max-connections.", st.server.refused_connections()},
        {"ssebridge_kafka_in_flight", "gauge", "Kafka records awaiting delivery.",
         static_cast<std::uint64_t>(st.producer.in_flight())},
        {"ssebridge_sessions_started_total", "counter", "Streams started.", c.sessions_started},
        {"ssebridge_event_streams_started_total", "counter",
         "GET .../events streams started (resumes and extra readers).", c.event_streams_started},
        {"ssebridge_resets_total", "counter", "Resumes from a cursor the log no longer held.",
         c.resets},
        {"ssebridge_cancels_total", "counter", "Sessions cancelled on request.", c.cancels},
        {"ssebridge_cancels_confirmed_total", "counter",
         "Cancels the worker confirmed within the wait.", c.cancels_confirmed},
        {"ssebridge_abandoned_cancels_total", "counter",
         "Sessions cancelled because nobody watched them any more.", c.abandoned_cancels},
        {"ssebridge_idempotent_joins_total", "counter",
         "Repeated POSTs (same Idempotency-Key and body) that joined their session.",
         c.idempotent_joins},
        {"ssebridge_idempotency_conflicts_total", "counter",
         "Idempotency-Keys reused with another body (409).", c.idempotency_conflicts},
        {"ssebridge_sessions_completed_total", "counter", "Streams ended by FinalAnswerStreamEnd.",
         c.sessions_completed},
        {"ssebridge_client_disconnects_total", "counter", "Sessions ended by the client.",
         c.client_disconnects},
        {"ssebridge_ack_timeouts_total", "counter", "Sessions without worker_ack in time.",
         c.ack_timeouts},
        {"ssebridge_idle_timeouts_total", "counter", "Sessions without events for too long.",
         c.idle_timeouts},
        {"ssebridge_slow_clients_total", "counter", "Clients cut off for not keeping up.",
         c.slow_clients},
        {"ssebridge_write_timeouts_total", "counter",
         "Clients cut off for a write that waited too long.", c.write_timeouts},
        {"ssebridge_backend_lost_total", "counter", "Sessions ended by a lost Redis connection.",
         c.backend_lost},
        {"ssebridge_rejected_total", "counter", "Requests answered 503.", c.rejected},
        {"ssebridge_malformed_messages_total", "counter", "Channel messages skipped as malformed.",
         c.malformed_messages},
        {"ssebridge_events_relayed_total", "counter", "Event frames written to clients.",
         c.events_relayed},
        {"ssebridge_redis_messages_total", "counter",
         "Messages received on the subscriber connection.", st.subscriber.stats().messages},
    };
    std::ostringstream out;
    for (const metric& m : metrics)
        out << "# HELP " << m.name << ' ' << m.help << "\n# TYPE " << m.name << ' ' << m.type
            << '\n'
            << m.name << ' ' << m.value << '\n';
    return out.str();
}

} // namespace ssebridge::gateway
