#include "report.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace ssebridge::bench {

boost::json::object latency_percentiles(results& got) {
    std::sort(got.latency_us.begin(), got.latency_us.end());
    boost::json::object lat;
    for (auto [name, p] :
         {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99_9", 99.9}, {"max", 100.0}})
        lat[name] = percentile(got.latency_us, p);
    return lat;
}

void summarise(run_state& st, double bench_cpu_seconds) {
    auto& r = st.report;
    const settings& s = st.s;
    r["scenario"] = s.scenario;
    r["target"] = s.target;
    r["profile"] = s.profile;
    r["sessions"] = s.sessions;
    r["delivered"] = st.got.delivered;
    r["bench_cpu_seconds"] = bench_cpu_seconds;
    r["latency_us"] = latency_percentiles(st.got); // sorts them, for the CDF below
    // The latency distribution for a CDF plot: 0..99 % by 1, then the tail.
    boost::json::array cdf;
    for (double p = 0; p < 99.5; p += 1)
        cdf.push_back(boost::json::array{p, percentile(st.got.latency_us, p)});
    for (double p : {99.5, 99.9, 99.95, 99.99, 100.0})
        cdf.push_back(boost::json::array{p, percentile(st.got.latency_us, p)});
    r["latency_cdf_us"] = cdf;
}

void print_table(std::ostream& out, const boost::json::object& r) {
    auto line = [&](std::string_view name, const std::string& value) {
        out << "  " << name << std::string(22 - std::min<std::size_t>(name.size(), 21), ' ')
            << value << "\n";
    };
    auto number = [](const boost::json::value& v) {
        std::ostringstream text;
        text << std::fixed << std::setprecision(v.is_double() ? 1 : 0)
             << (v.is_double() ? v.as_double() : static_cast<double>(v.to_number<std::int64_t>()));
        return text.str();
    };
    out << "ssebridge-bench: " << std::string_view(r.at("scenario").as_string()) << " against "
        << std::string_view(r.at("target").as_string()) << ", " << number(r.at("sessions"))
        << " sessions\n";
    for (std::string_view key :
         {"delivered", "seconds", "events_per_second", "sessions_per_second", "gateway_rss_kib",
          "gateway_rss_kib_peak", "gateway_rss_kib_end", "bench_cpu_seconds"})
        if (const auto* v = r.if_contains(key))
            line(key, number(*v));
    for (std::string_view key : {"resume", "cancel", "soak", "storm"})
        if (const auto* v = r.if_contains(key))
            for (const auto& [name, value] : v->as_object())
                line(std::string(key) + "." + std::string(name),
                     value.is_string() ? std::string(value.as_string()) : number(value));
    if (r.at("delivered").to_number<std::int64_t>() == 0)
        return; // no event timed: no latency to report
    const auto& lat = r.at("latency_us").as_object();
    std::string percentiles;
    for (std::string_view key : {"p50", "p90", "p99", "p99_9", "max"})
        percentiles += std::string(key) + " " + number(lat.at(key)) + "  ";
    percentiles.resize(percentiles.size() - 2);
    line("latency_us", percentiles);
}

} // namespace ssebridge::bench
