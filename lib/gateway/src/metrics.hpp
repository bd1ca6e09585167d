// What a gateway measures besides its counters (histograms of time), and the
// Prometheus exposition of it all, through prometheus-cpp's data model and
// text serializer.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/gateway/gateway.hpp>

#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace ssebridge::gateway {

/// One shard's histograms: observed on its thread (prometheus-cpp's lock is
/// never contended) and collected there for /metrics.
struct histograms {
    histograms();
    prometheus::Histogram setup;    ///< POST received → the stream's headers out
    prometheus::Histogram ack_wait; ///< headers out (Kafka delivered) → worker_ack
    prometheus::Histogram lag;      ///< event recorded (its id's time) → received for a stream
    prometheus::Histogram duration; ///< a stream's headers → its end

    /// Observes `d` in seconds.
    static void observe(prometheus::Histogram& h, coro::clock::duration d);
    /// Observes the lag of the recorded event `id_ms` (the writer's clock, ms)
    /// against this host's clock; a negative one (clock skew) as 0.
    void observe_lag(std::uint64_t id_ms);
};

/// This shard's metrics as Prometheus families. On the shard's executor.
std::vector<prometheus::MetricFamily> collect_metrics(const gateway::state& st);

/// The sums of several shards' families (counters, gauges and histograms of
/// equal labels are added), and with more than one shard the live sessions
/// of each (`ssebridge_shard_sessions_live{shard}`).
std::vector<prometheus::MetricFamily>
merge_shards(const std::vector<std::vector<prometheus::MetricFamily>>& shards);

/// The text exposition format (version 0.0.4).
std::string exposition(const std::vector<prometheus::MetricFamily>& families);

} // namespace ssebridge::gateway
