// The results of a run: the JSON report and its human-readable table.
#pragma once

#include "run_state.hpp"

#include <ostream>

namespace ssebridge::bench {

/// p50, p90, p99, p99.9 and max of what `got` holds (sorting it first).
boost::json::object latency_percentiles(results& got);

/// Adds what every run reports (latency percentiles and CDF, counts, the
/// bench's own CPU) to `st.report`.
void summarise(run_state& st, double bench_cpu_seconds);

// The human-readable report of a run: one line per measure.
void print_table(std::ostream& out, const boost::json::object& r);

} // namespace ssebridge::bench
