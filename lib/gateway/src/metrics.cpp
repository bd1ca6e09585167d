// GET /metrics: a gateway's gauges, counters and histograms as Prometheus
// families, summed over the shards of a process, in the text format.
#include "metrics.hpp"

#include "state.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>

namespace ssebridge::gateway {

namespace {
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Seconds. Setup and ack: a Kafka round trip to a worker's first answer.
// Lag: the ids it is read from are whole milliseconds.
const prometheus::Histogram::BucketBoundaries setup_buckets{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const prometheus::Histogram::BucketBoundaries ack_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                          1,     2.5,  5,     10,   30,  60};
const prometheus::Histogram::BucketBoundaries lag_buckets{0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,   0.25,  0.5,   1,    2.5,   5};
const prometheus::Histogram::BucketBoundaries duration_buckets{0.1, 0.5, 1,   2.5, 5,    10,  30,
                                                               60,  120, 300, 600, 1800, 3600};

MetricFamily family(const char* name, const char* help, MetricType type) {
    return {name, help, type, {}};
}

void add_value(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter)
        m.counter.value = value;
    else
        m.gauge.value = value;
    f.metric.push_back(std::move(m));
}

MetricFamily single(const char* name, const char* help, MetricType type, double value) {
    MetricFamily f = family(name, help, type);
    add_value(f, value);
    return f;
}

MetricFamily histogram(const char* name, const char* help, const prometheus::Histogram& h) {
    MetricFamily f = family(name, help, MetricType::Histogram);
    f.metric.push_back(h.Collect());
    return f;
}

void add_sum(ClientMetric& into, const ClientMetric& from, MetricType type) {
    into.counter.value += from.counter.value;
    into.gauge.value += from.gauge.value;
    into.untyped.value += from.untyped.value;
    if (type != MetricType::Histogram)
        return;
    into.histogram.sample_count += from.histogram.sample_count;
    into.histogram.sample_sum += from.histogram.sample_sum;
    for (std::size_t i = 0; i < into.histogram.bucket.size() && i < from.histogram.bucket.size();
         ++i)
        into.histogram.bucket[i].cumulative_count += from.histogram.bucket[i].cumulative_count;
}
} // namespace

histograms::histograms()
    : setup(setup_buckets)
    , ack_wait(ack_buckets)
    , lag(lag_buckets)
    , duration(duration_buckets) {}

void histograms::observe(prometheus::Histogram& h, coro::clock::duration d) {
    h.Observe(std::chrono::duration<double>(d).count());
}

void histograms::observe_lag(std::uint64_t id_ms) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto lag_ms = static_cast<std::int64_t>(now_ms) - static_cast<std::int64_t>(id_ms);
    lag.Observe(static_cast<double>(std::max<std::int64_t>(lag_ms, 0)) / 1000.0);
}

std::vector<MetricFamily> collect_metrics(const gateway::state& st) {
    const counters& c = st.stats;
    constexpr auto gauge = MetricType::Gauge;
    constexpr auto counter = MetricType::Counter;
    std::vector<MetricFamily> out;
    out.push_back(single("ssebridge_sessions_live", "Streams in progress.", gauge,
                         double(st.sessions.live_count)));
    out.push_back(single("ssebridge_subscriptions", "Redis channels subscribed for sessions.",
                         gauge, double(session_subscriptions(st))));
    out.push_back(single("ssebridge_redis_connected",
                         "Shards whose Redis subscriber is connected (1 a shard).", gauge,
                         st.redis.subscriber.connected() ? 1 : 0));
    out.push_back(single("ssebridge_http_connections", "Open client connections.", gauge,
                         double(st.server.connections())));
    out.push_back(single("ssebridge_http_connections_refused_total",
                         "Connections answered 503 at --max-connections.", counter,
                         double(st.server.refused_connections())));
    out.push_back(single("ssebridge_replay_bytes",
                         "Bytes of log pages the replays hold (read, not yet sent).", gauge,
                         double(st.sessions.replay_memory.in_use())));
    out.push_back(single("ssebridge_replays_waiting",
                         "Replays waiting for --replay-memory to read their next page.", gauge,
                         double(st.sessions.replay_memory.waiting())));
    out.push_back(single("ssebridge_kafka_in_flight", "Kafka records awaiting delivery.", gauge,
                         double(st.kafka.producer.in_flight())));
    out.push_back(single("ssebridge_sessions_started_total",
                         "Sessions whose stream started (POST).", counter,
                         double(c.sessions_started)));
    out.push_back(single("ssebridge_event_streams_started_total",
                         "GET .../events streams started (resumes and extra readers).", counter,
                         double(c.event_streams_started)));

    MetricFamily ended = family("ssebridge_streams_ended_total",
                                "Streams ended, by how: completed (the terminal event went out), "
                                "client_gone, or the code of their error event.",
                                counter);
    add_value(ended, double(c.streams_completed), {{"code", "completed"}});
    add_value(ended, double(c.client_disconnects), {{"code", "client_gone"}});
    for (std::size_t i = 0; i < wire::end_code_count; ++i) {
        auto code = static_cast<wire::end_code>(i);
        add_value(ended, double(c.failed(code)), {{"code", std::string(wire::code_name(code))}});
    }
    out.push_back(std::move(ended));

    out.push_back(single("ssebridge_resets_total", "Resumes from a cursor the log no longer held.",
                         counter, double(c.resets)));
    out.push_back(single("ssebridge_ended_cursors_total",
                         "Resumes at or after the session's terminal event, answered 204.", counter,
                         double(c.ended_cursors)));
    out.push_back(single("ssebridge_cancels_total", "Sessions cancelled on request.", counter,
                         double(c.cancels)));
    out.push_back(single("ssebridge_cancels_confirmed_total",
                         "Cancels the worker confirmed within the wait.", counter,
                         double(c.cancels_confirmed)));
    out.push_back(single("ssebridge_abandoned_cancels_total",
                         "Sessions cancelled because nobody watched them any more.", counter,
                         double(c.abandoned_cancels)));
    out.push_back(single("ssebridge_idempotent_joins_total",
                         "Repeated POSTs (same Idempotency-Key and body) that joined their "
                         "session.",
                         counter, double(c.idempotent_joins)));
    out.push_back(single("ssebridge_post_resumes_total",
                         "POSTs whose Last-Event-ID (a cursor of their stream) resumed their "
                         "session after it.",
                         counter, double(c.post_resumes)));
    out.push_back(single("ssebridge_idempotency_conflicts_total",
                         "Idempotency-Keys reused with another body (409).", counter,
                         double(c.idempotency_conflicts)));
    out.push_back(
        single("ssebridge_rejected_total", "Requests answered 503.", counter, double(c.rejected)));
    out.push_back(single("ssebridge_malformed_messages_total",
                         "Channel messages skipped as malformed.", counter,
                         double(c.malformed_messages)));
    out.push_back(single("ssebridge_events_relayed_total", "Event frames written to clients.",
                         counter, double(st.sessions.streams.events_written)));
    out.push_back(single("ssebridge_redis_messages_total",
                         "Messages received on the subscriber connection.", counter,
                         double(st.redis.subscriber.stats().messages)));

    const histograms& h = st.timings;
    out.push_back(histogram("ssebridge_session_setup_seconds",
                            "From a POST's arrival to its stream's headers (Redis subscribe, "
                            "Kafka delivery).",
                            h.setup));
    out.push_back(histogram("ssebridge_ack_wait_seconds",
                            "From a session's headers (its request delivered to Kafka) to the "
                            "worker's worker_ack.",
                            h.ack_wait));
    out.push_back(histogram("ssebridge_event_lag_seconds",
                            "From an event's recording (its id's time, the writer's clock) to its "
                            "arrival for a stream on this gateway.",
                            h.lag));
    out.push_back(histogram("ssebridge_stream_duration_seconds",
                            "From a stream's headers to its end.", h.duration));
    return out;
}

std::vector<MetricFamily> merge_shards(const std::vector<std::vector<MetricFamily>>& shards) {
    if (shards.empty())
        return {};
    std::vector<MetricFamily> sum = shards.front();
    for (std::size_t shard = 1; shard < shards.size(); ++shard) {
        for (const MetricFamily& f : shards[shard]) {
            auto into = std::find_if(sum.begin(), sum.end(),
                                     [&](const MetricFamily& s) { return s.name == f.name; });
            if (into == sum.end()) {
                sum.push_back(f);
                continue;
            }
            for (const ClientMetric& m : f.metric) {
                auto same = std::find_if(into->metric.begin(), into->metric.end(),
                                         [&](const ClientMetric& s) { return s.label == m.label; });
                if (same == into->metric.end())
                    into->metric.push_back(m);
                else
                    add_sum(*same, m, f.type);
            }
        }
    }
    if (shards.size() > 1) { // how the kernel spreads the sessions over the shards
        MetricFamily live = family("ssebridge_shard_sessions_live",
                                   "Streams in progress on each shard.", MetricType::Gauge);
        for (std::size_t shard = 0; shard < shards.size(); ++shard) {
            double value = 0;
            for (const MetricFamily& f : shards[shard])
                if (f.name == "ssebridge_sessions_live" && !f.metric.empty())
                    value = f.metric.front().gauge.value;
            add_value(live, value, {{"shard", std::to_string(shard)}});
        }
        sum.push_back(std::move(live));
    }
    return sum;
}

std::string exposition(const std::vector<MetricFamily>& families) {
    return prometheus::TextSerializer().Serialize(families);
}

std::string gateway::metrics_text() const {
    return exposition(collect_metrics(*state_));
}

} // namespace ssebridge::gateway
