// ssebridge-bench: drives an SSE gateway as browsers and workers would, and
// measures what arrives. Publishes straight into Redis (pipelined PUBLISH)
// with a send timestamp in every payload; reads each stream over its own
// HTTP/1.1 connection, parsing frames.
//
// Scenarios:
//   limit       what one Redis subscriber connection receives (no gateway)
//   throughput  S sessions, E events each, as fast as the publishers go
//   latency     a fixed aggregate rate over S sessions for D seconds
//   idle        S sessions held open; the gateway's RSS per session
#include "support/http_client.hpp"
#include "support/run.hpp"

#include <ssebridge/cli.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/redis/detail/connection.hpp>
#include <ssebridge/redis/subscriber.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace asio = boost::asio;
using namespace ssebridge;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

namespace {

struct settings {
    std::string scenario = "throughput";
    std::string gateway = "127.0.0.1:8080";
    std::string redis = "redis://127.0.0.1:6379";
    std::size_t sessions = 1000;
    std::size_t events = 100;      ///< per session (throughput, limit)
    double rate = 20000;           ///< events/s in all (latency)
    double duration = 10;          ///< seconds (latency, idle)
    std::size_t payload = 64;      ///< bytes of padding per event
    std::size_t publishers = 4;    ///< Redis connections publishing
    std::size_t gateway_pid = 0;   ///< for idle: whose RSS to read
    std::size_t in_flight = 20000; ///< events published but not yet received, at most
    std::string json_out;
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}

// The send time carried by an event, or -1.
std::int64_t sent_at(std::string_view data) {
    auto at = data.find("\"t\":");
    if (at == std::string_view::npos)
        return -1;
    std::int64_t t = -1;
    std::from_chars(data.data() + at + 4, data.data() + data.size(), t);
    return t;
}

struct results {
    std::size_t delivered = 0;
    std::vector<std::uint32_t> latency_us;
    void record(std::string_view data) {
        std::int64_t t = sent_at(data);
        if (t >= 0)
            latency_us.push_back(static_cast<std::uint32_t>((now_ns() - t) / 1000));
        ++delivered;
    }
};

/// Pipelined PUBLISH on one connection, with a window of unanswered commands.
class publisher {
public:
    explicit publisher(coro::executor ex)
        : ex_(ex)
        , conn_(ex)
        , room_(ex) {}

    coro::awaitable<void> connect(const redis::config& cfg) {
        co_await conn_.async_connect(cfg);
        asio::co_spawn(ex_, run(), asio::detached);
    }

    /// Queues a PUBLISH; waits while `window` commands are unanswered.
    coro::awaitable<void> publish(std::string_view channel, std::string_view message) {
        while (outstanding_ >= window) {
            co_await room_.async_wait();
        }
        redis::append_command(conn_.outbox(), {"PUBLISH", channel, message});
        ++outstanding_;
        conn_.flush();
    }

    void close() { conn_.close(); }
    static constexpr std::size_t window = 512;

private:
    coro::awaitable<void> run() {
        co_await conn_.async_run([this](std::span<const redis::node>) {
            --outstanding_;
            room_.notify();
        });
    }

    coro::executor ex_;
    redis::detail::connection conn_;
    coro::notifier room_;
    std::size_t outstanding_ = 0;
};

std::string event_json(std::string_view type, const std::string& pad) {
    return R"({"event_type":")" + std::string(type) + R"(","payload":{"t":)" +
           std::to_string(now_ns()) + R"(,"pad":")" + pad + "\"}}";
}

/// One stream held open by the bench: its connection and session id.
struct stream {
    std::unique_ptr<test::http_client> client;
    std::string id;
};

coro::awaitable<void> open_stream(tcp::endpoint ep, stream* out) {
    out->client = std::make_unique<test::http_client>(co_await asio::this_coro::executor);
    co_await out->client->connect(ep);
    co_await out->client->send(test::post_request(R"({"user_query":"bench"})"));
    test::http_head head = co_await out->client->read_head();
    if (head.status != 200)
        throw std::runtime_error("POST answered " + std::to_string(head.status));
    out->id = head.header("X-Session-Id").value_or("");
}

// Reads a stream until it ends, recording every event but the ack.
coro::awaitable<void> read_stream(test::http_client* c, results* r, std::size_t* acked) {
    for (;;) {
        std::optional<sse::message> m = co_await c->next_message();
        if (!m)
            co_return;
        if (m->is_comment)
            continue;
        if (m->data.find("worker_ack") != std::string::npos) {
            ++*acked;
            continue;
        }
        if (m->data.find("FinalAnswerStreamEnd") != std::string::npos)
            continue;
        r->record(m->data);
    }
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty())
        return 0;
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
    return sorted[i];
}

std::size_t rss_kib(std::size_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    return 0;
}

struct run_state {
    settings s;
    redis::config redis_cfg;
    tcp::endpoint gateway;
    std::vector<std::unique_ptr<publisher>> publishers;
    results got;
    boost::json::object report;
};

coro::awaitable<void> connect_publishers(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < st.s.publishers; ++i) {
        st.publishers.push_back(std::make_unique<publisher>(ex));
        co_await st.publishers.back()->connect(st.redis_cfg);
    }
}

// Publishes `per_channel` events to every channel; paced to `rate` if > 0.
coro::awaitable<void> publish_all(run_state& st, const std::vector<std::string>& channels,
                                  std::size_t per_channel, double rate) {
    std::string pad(st.s.payload, 'x');
    asio::steady_timer tick(co_await asio::this_coro::executor);
    auto start = steady::now();
    std::size_t sent = 0;
    for (std::size_t round = 0; round < per_channel; ++round) {
        for (std::size_t c = 0; c < channels.size(); ++c, ++sent) {
            // Closed loop: a bounded number of events in flight, so that
            // Redis's output buffer for the subscriber cannot grow without end.
            while (sent - st.got.delivered >= st.s.in_flight)
                co_await test::sleep_for(std::chrono::microseconds(200));
            if (rate > 0) {
                auto due =
                    start + std::chrono::duration_cast<steady::duration>(
                                std::chrono::duration<double>(static_cast<double>(sent) / rate));
                if (due > steady::now() + 1ms) {
                    tick.expires_at(due);
                    co_await tick.async_wait(asio::use_awaitable);
                }
            }
            std::string message = event_json("FinalAnswerStream", pad);
            co_await st.publishers[sent % st.publishers.size()]->publish(channels[c], message);
        }
    }
}

struct sink_counter : redis::subscriber::sink {
    results* r = nullptr;
    void on_message(std::string_view payload) override { r->record(payload); }
    void on_lost() override {}
};

coro::awaitable<void> scenario_limit(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    redis::subscriber sub(ex, st.redis_cfg);
    coro::task_group background(ex);
    background.spawn(sub.async_run());
    co_await sub.async_wait_connected();
    std::vector<sink_counter> sinks(st.s.sessions);
    std::vector<redis::subscriber::subscription> subs;
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < st.s.sessions; ++i) {
        sinks[i].r = &st.got;
        channels.push_back("bench_limit:" + std::to_string(i));
        subs.push_back(co_await sub.async_subscribe(channels.back(), sinks[i]));
    }
    co_await connect_publishers(st);
    auto start = steady::now();
    co_await publish_all(st, channels, st.s.events, 0);
    std::size_t expected = st.s.sessions * st.s.events;
    while (st.got.delivered < expected && steady::now() - start < 120s)
        co_await test::sleep_for(1ms);
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    st.report["seconds"] = secs;
    st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
    subs.clear();
    background.cancel(); // the subscriber's loop must end before it goes
    co_await background.async_wait();
}

coro::awaitable<void> scenario_streams(run_state& st) {
    // Open the sessions, a few hundred at a time.
    std::vector<stream> streams(st.s.sessions);
    for (std::size_t i = 0; i < streams.size();) {
        std::size_t batch_end = std::min(streams.size(), i + 200);
        std::size_t done = 0;
        std::exception_ptr failure;
        for (std::size_t k = i; k < batch_end; ++k)
            asio::co_spawn(co_await asio::this_coro::executor, open_stream(st.gateway, &streams[k]),
                           [&](std::exception_ptr e) {
                               ++done;
                               if (e)
                                   failure = e;
                           });
        while (done < batch_end - i)
            co_await test::sleep_for(1ms);
        if (failure)
            std::rethrow_exception(failure);
        i = batch_end;
    }
    co_await connect_publishers(st);
    std::size_t acked = 0;
    std::size_t ended = 0;
    std::vector<std::string> channels;
    for (auto& s : streams) {
        channels.push_back("sse_session:" + s.id);
        asio::co_spawn(co_await asio::this_coro::executor,
                       read_stream(s.client.get(), &st.got, &acked),
                       [&](std::exception_ptr) { ++ended; });
        co_await st.publishers[0]->publish(channels.back(),
                                           R"({"event_type":"worker_ack","payload":{}})");
    }
    while (acked < streams.size())
        co_await test::sleep_for(1ms);

    if (st.s.scenario == "idle") {
        std::size_t before = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        co_await test::sleep_for(std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(st.s.duration)));
        std::size_t after = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        st.report["gateway_rss_kib"] = after;
        st.report["gateway_rss_kib_before_wait"] = before;
    } else {
        std::size_t per_channel = st.s.events;
        double rate = 0;
        if (st.s.scenario == "latency") {
            rate = st.s.rate;
            per_channel = static_cast<std::size_t>(st.s.rate * st.s.duration /
                                                   static_cast<double>(streams.size()));
        }
        auto start = steady::now();
        co_await publish_all(st, channels, per_channel, rate);
        std::size_t expected = per_channel * streams.size();
        while (st.got.delivered < expected && ended == 0 && steady::now() - start < 300s)
            co_await test::sleep_for(1ms);
        if (ended > 0)
            throw std::runtime_error(std::to_string(ended) +
                                     " streams ended early (see the gateway's log)");
        double secs = std::chrono::duration<double>(steady::now() - start).count();
        st.report["seconds"] = secs;
        st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
        st.report["expected"] = expected;
    }
    for (auto& c : channels)
        co_await st.publishers[0]->publish(c,
                                           R"({"event_type":"FinalAnswerStreamEnd","payload":{}})");
    auto deadline = steady::now() + 30s;
    while (ended < streams.size() && steady::now() < deadline)
        co_await test::sleep_for(1ms);
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    std::vector<cli::option> opts{
        cli::text("--scenario", "", "limit, throughput, latency or idle", s.scenario),
        cli::text("--gateway", "", "HOST:PORT of the gateway", s.gateway),
        cli::text("--redis", "", "Redis URL the events are published to", s.redis),
        cli::count("--sessions", "", "streams (or channels, for limit)", s.sessions),
        cli::count("--events", "", "events per session (throughput, limit)", s.events),
        cli::seconds("--rate", "", "events per second in all (latency)", s.rate),
        cli::seconds("--duration", "", "seconds to publish (latency) or hold (idle)", s.duration),
        cli::count("--payload", "", "bytes of padding in each event", s.payload),
        cli::count("--publishers", "", "Redis connections publishing", s.publishers),
        cli::count("--gateway-pid", "", "process whose RSS idle reports", s.gateway_pid),
        cli::count("--in-flight", "", "events published but not yet received, at most",
                   s.in_flight),
        cli::text("--json", "", "file to write the results to", s.json_out),
    };
    cli::result parsed = cli::parse(opts, {argv + 1, argv + argc},
                                    [](const char*) -> const char* { return nullptr; });
    if (parsed.help || !parsed.ok) {
        (parsed.help ? std::cout : std::cerr)
            << (parsed.help ? "" : parsed.message + "\n\n")
            << "Usage: ssebridge-bench --scenario limit|throughput|latency|idle [OPTIONS]\n\n"
            << cli::describe(opts);
        return parsed.help ? 0 : 2;
    }
    run_state st;
    st.s = s;
    std::string error;
    auto cfg = redis::config::from_url(s.redis, error);
    if (!cfg) {
        std::cerr << "--redis: " << error << "\n";
        return 2;
    }
    st.redis_cfg = *cfg;
    auto colon = s.gateway.rfind(':');
    st.gateway = {asio::ip::make_address(s.gateway.substr(0, colon)),
                  static_cast<unsigned short>(std::stoi(s.gateway.substr(colon + 1)))};

    asio::io_context ioc(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO); // one thread, no locks on I/O
    try {
        if (s.scenario == "limit")
            test::run(ioc, scenario_limit(st), 600s);
        else
            test::run(ioc, scenario_streams(st), 600s);
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-bench: " << e.what() << "\n";
        return 1;
    }
    std::sort(st.got.latency_us.begin(), st.got.latency_us.end());
    auto& r = st.report;
    r["scenario"] = s.scenario;
    r["sessions"] = s.sessions;
    r["delivered"] = st.got.delivered;
    boost::json::object lat;
    for (auto [name, p] :
         {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99_9", 99.9}, {"max", 100.0}})
        lat[name] = percentile(st.got.latency_us, p);
    r["latency_us"] = lat;
    std::string json = boost::json::serialize(r);
    std::cout << json << std::endl;
    if (!s.json_out.empty())
        std::ofstream(s.json_out) << json << "\n";
    for (auto& p : st.publishers)
        p->close();
    ioc.poll();
    return 0;
}
