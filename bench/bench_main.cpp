// ssebridge-bench: drives an SSE gateway as browsers and workers would, and
// measures what arrives. Reads each stream over its own HTTP/1.1 connection,
// parsing frames; publishes with a send timestamp in every payload, straight
// into Redis (pipelined PUBLISH) for ssebridge, or to a publish URL
// (pipelined POST) for any other SSE server such as nginx + nchan.
//
// Scenarios (see --help and docs/benchmarks.md):
//   limit       what one Redis subscriber connection receives (no gateway)
//   throughput  S sessions, E events each, as fast as the publishers go
//   latency     a fixed aggregate rate over S sessions for D seconds
//   slow        latency, while a share of the clients stops reading
//   idle        S sessions held open; the gateway's RSS per session
//   setup       sessions per second from POST to worker_ack (ssebridge only),
//               with a built-in worker that acknowledges every Kafka request
//   resume      throughput with a share of the streams cut and resumed (by GET
//               …/events or by the POST again)
//   cancel      sessions stopped mid-answer: cancel → the worker's last event
//   soak        long churn against a gateway and the reference worker
//
// This file reads the command line and runs the scenario asked for; the
// parts are in src/, one idea each: core.hpp (settings), measure (what
// arrives), publishers (where events come from), streams (the clients),
// run_state.hpp (one run), scenario_*.cpp (one scenario each; the list is
// src/scenarios.hpp and the table below), report (JSON and table).
#include "src/report.hpp"
#include "src/scenarios.hpp"

#include "support/run.hpp"

#include <ssebridge/cli.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <map>

using namespace ssebridge;
using namespace ssebridge::bench;

namespace {

using scenario_fn = coro::awaitable<void> (*)(run_state&);

// Every scenario by name: a new one is a line here and a file in src/.
const std::map<std::string, scenario_fn, std::less<>> scenarios{
    {"limit", scenario_limit},  {"throughput", scenario_streams}, {"latency", scenario_streams},
    {"slow", scenario_streams}, {"idle", scenario_streams},       {"resume", scenario_streams},
    {"setup", scenario_setup},  {"cancel", scenario_cancel},      {"soak", scenario_soak},
    {"storm", scenario_storm},
};

} // namespace

int main(int argc, char** argv) {
    settings s;
    // The Redis the events are published to (target ssebridge), and the
    // gateway's Kafka (setup): flags only, as every setting of the bench.
    std::vector<cli::option> opts =
        cli::redis_options(s.redis, s.redis_cluster, nullptr, false) +
        cli::kafka_options(s.kafka_brokers, s.kafka_topic,
                           "setup: the gateway's Kafka (kafka.bootstrap=…)", false) +
        std::vector<cli::option>{
            cli::text(
                "--scenario", "",
                "limit, throughput, latency, slow, idle, setup, resume, cancel, soak or storm",
                s.scenario),
            cli::text("--target", "",
                      "ssebridge (POST sessions, publish to Redis) or sse (any server: "
                      "--subscribe-url and --publish-url)",
                      s.target),
            cli::text("--gateway", "",
                      "HOST:PORT of the gateway (target ssebridge); several, comma-separated: "
                      "streams are opened on each in turn",
                      s.gateway),
            cli::text("--subscribe-url", "", "target sse: stream URL, {id} is the channel",
                      s.subscribe_url),
            cli::text("--publish-url", "",
                      "target sse: URL to POST each event to, {id} is the channel", s.publish_url),
            cli::count("--sessions", "", "streams (channels for limit; sessions in all for setup)",
                       s.sessions),
            cli::count("--events", "", "events per session (throughput, limit)", s.events),
            cli::seconds("--rate", "",
                         "events per second in all (needed by latency and slow; paces limit and "
                         "throughput too; 0: as fast as possible)",
                         s.rate),
            cli::seconds("--duration", "",
                         "seconds to publish (latency, slow), hold (idle), at most (setup)",
                         s.duration),
            cli::seconds("--slow-share", "", "slow: share of clients that stop reading",
                         s.slow_share),
            cli::count("--payload", "", "bytes of padding in each event", s.payload),
            cli::count("--publishers", "", "connections publishing", s.publishers),
            cli::count("--gateway-pid", "", "process whose RSS is reported", s.gateway_pid),
            cli::count("--in-flight", "", "events published but not yet received, at most",
                       s.in_flight),
            cli::count("--concurrency", "", "setup, cancel: clients opening sessions at once",
                       s.concurrency),
            cli::text("--publish", "",
                      "plain (PUBLISH), record (the workers' recording script: ids and a log) or "
                      "pair (XADD + PUBLISH pipelined, not atomic: the least recording costs "
                      "Redis)",
                      s.publish),
            cli::seconds("--cut-share", "",
                         "resume: share of streams cut once and resumed; soak: share hung up "
                         "mid-answer",
                         s.cut_share),
            cli::text("--resume-with", "",
                      "resume: get (GET …/events with Last-Event-ID) or post (the same POST "
                      "again, with the last cursor of its stream as Last-Event-ID)",
                      s.resume_with),
            cli::text("--profile", "",
                      "seed (POST /v1/react/sessions) or ai-sdk (POST /v1/chat: the AI SDK's "
                      "UI message stream; throughput and latency, target ssebridge)",
                      s.profile),
            cli::text("--expect", "",
                      "soak: the answer the worker streams, checked in every session", s.expect),
            cli::count("--storm-readers", "",
                       "storm: clients replaying one session's log from its start, again and "
                       "again, beside the latency scenario's live sessions",
                       s.storm_readers),
            cli::count("--storm-events", "", "storm: events in the log they replay",
                       s.storm_events),
            cli::text("--json", "",
                      "file to write the results to as JSON (else printed after the table)",
                      s.json_out),
        };
    cli::result<cli::parsed> parsed = cli::parse(
        opts, {argv + 1, argv + argc}, [](const char*) -> const char* { return nullptr; });
    bool help = parsed && parsed->help;
    if (help || !parsed) {
        (help ? std::cout : std::cerr)
            << (help ? "" : parsed.error().message + "\n\n")
            << "Usage: ssebridge-bench --scenario "
               "limit|throughput|latency|slow|idle|setup|resume|cancel|soak|storm [OPTIONS]\n\n"
            << cli::describe(opts);
        return help ? 0 : 2;
    }
    // First: it must outlive everything that holds its I/O objects (`st`).
    asio::io_context ioc(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO); // one thread, no locks on I/O
    run_state st(ioc.get_executor());
    st.s = s;
    try {
        auto cfg = redis::config::from_flags(s.redis, s.redis_cluster);
        if (!cfg)
            throw std::invalid_argument("--redis or --redis-cluster: " + cfg.error().message());
        st.redis_cfg = *cfg;
        if (s.target == "sse") {
            if (s.subscribe_url.empty() || s.publish_url.empty())
                throw std::invalid_argument("--target sse needs --subscribe-url and --publish-url");
            st.subscribe_url = url_template::parse(s.subscribe_url);
            st.publish_url = url_template::parse(s.publish_url);
        } else if (s.target != "ssebridge") {
            throw std::invalid_argument("--target is ssebridge or sse");
        }
        if (!scenarios.contains(s.scenario))
            throw std::invalid_argument("no scenario " + s.scenario + " (see --help)");
        if (s.publish != "plain" && s.publish != "record" && s.publish != "pair")
            throw std::invalid_argument("--publish is plain, record or pair");
        if (s.resume_with != "get" && s.resume_with != "post")
            throw std::invalid_argument("--resume-with is get or post");
        if (s.profile != "seed" && s.profile != "ai-sdk")
            throw std::invalid_argument("--profile is seed or ai-sdk");
        if (s.profile == "ai-sdk" &&
            (s.target != "ssebridge" || (s.scenario != "throughput" && s.scenario != "latency")))
            throw std::invalid_argument("--profile ai-sdk is for --target ssebridge, --scenario "
                                        "throughput or latency");
        if ((s.scenario == "resume" || s.scenario == "cancel" || s.scenario == "storm") &&
            s.target != "ssebridge")
            throw std::invalid_argument("--scenario " + s.scenario + " needs --target ssebridge");
        if (s.scenario == "resume" || s.scenario == "storm")
            st.s.publish = "record"; // only recorded events can be resumed (or replayed)
        if ((s.scenario == "latency" || s.scenario == "slow" || s.scenario == "storm") &&
            s.rate <= 0)
            throw std::invalid_argument("--scenario " + s.scenario + " needs --rate");
        for (std::string_view list = s.gateway; !list.empty();) {
            std::string one(list.substr(0, list.find(',')));
            list.remove_prefix(std::min(list.size(), one.size() + 1));
            auto colon = one.rfind(':');
            st.gateways.emplace_back(asio::ip::make_address(one.substr(0, colon)),
                                     static_cast<unsigned short>(std::stoi(one.substr(colon + 1))));
        }
        if (st.gateways.empty())
            throw std::invalid_argument("--gateway needs HOST:PORT");
        st.gateway = st.gateways.front();
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-bench: " << e.what() << "\n";
        return 2;
    }

    auto cpu_before = std::clock();
    try {
        scenario_fn scenario = scenarios.find(s.scenario)->second;
        auto limit = s.scenario == "soak" ? std::chrono::duration_cast<steady::duration>(
                                                std::chrono::duration<double>(s.duration)) +
                                                120s
                                          : steady::duration(600s);
        test::run(ioc, scenario(st), limit);
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-bench: " << e.what() << "\n";
        return 1;
    }
    bool timed = s.scenario == "throughput" || s.scenario == "latency" || s.scenario == "slow" ||
                 s.scenario == "limit" || s.scenario == "resume" || s.scenario == "storm";
    if (timed && st.got.delivered > 0 && st.got.latency_us.empty()) {
        std::cerr << "ssebridge-bench: " << st.got.delivered
                  << " events arrived but none carried its send time (\"t\"): no latency to "
                     "report\n";
        return 1;
    }
    auto& r = st.report;
    bench::summarise(st, static_cast<double>(std::clock() - cpu_before) / CLOCKS_PER_SEC);
    print_table(std::cout, r);
    std::string json = boost::json::serialize(r);
    if (s.json_out.empty())
        std::cout << json << std::endl;
    else
        std::ofstream(s.json_out) << json << "\n";
    for (auto& p : st.publishers)
        p->close();
    ioc.poll();
    if (const auto* failure = r.if_contains("first_failure")) {
        std::cerr << "ssebridge-bench: sessions failed, the first: "
                  << std::string_view(failure->as_string()) << "\n";
        return 1;
    }
    return 0;
}
