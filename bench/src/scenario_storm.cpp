#include "scenarios.hpp"

#include "report.hpp"
#include "streams.hpp"

#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <thread>

namespace ssebridge::bench {

namespace {

// What the storm's readers did, counted across its thread and the bench's.
struct storm_counts {
    std::atomic<std::size_t> replays{0};    ///< read to the end event
    std::atomic<std::size_t> incomplete{0}; ///< ended before it
    std::atomic<std::size_t> bytes{0};      ///< read in all, finished or not
};

// One storm reader: GET the whole log, read it to the gateway's close, and
// again, until its loop stops. Bytes only: the storm stands for clients on
// other machines, it must cost the bench as little as it can.
coro::awaitable<void> replay_again_and_again(tcp::endpoint gateway, std::string request,
                                             storm_counts* counts) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<char> buffer(1 << 16);
    constexpr std::string_view end_event = R"("FinalAnswerStreamEnd")";
    for (;;) {
        tcp::socket socket(ex);
        auto [connected] = co_await socket.async_connect(gateway, coro::use_tuple);
        auto [sent, sent_bytes] =
            co_await asio::async_write(socket, asio::buffer(request), coro::use_tuple);
        const bool refused = connected || sent;
        std::string tail;
        while (!refused) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), coro::use_tuple);
            if (ec)
                break;
            counts->bytes += n; // as it comes: a storm may end before a replay does
            tail.append(buffer.data(), n);
            if (tail.size() > 4096)
                tail.erase(0, tail.size() - 4096);
        }
        if (tail.find(end_event) != std::string::npos)
            ++counts->replays;
        else
            ++counts->incomplete;
        if (refused)
            co_await test::sleep_for(100ms); // refused: try again, not in a tight loop
    }
}

// The storm: `readers` clients replaying the log of session `s` from its
// start, again and again, on a thread (and loop) of their own, so that the
// storm's reading does not delay the bench's live readers.
class storm {
public:
    storm(const stream& s, std::size_t readers) {
        std::string request = "GET /v1/react/sessions/" + s.id +
                              "/events HTTP/1.1\r\nHost: b\r\nConnection: close\r\n"
                              "Authorization: Bearer " +
                              s.token + "\r\n\r\n";
        for (std::size_t i = 0; i < readers; ++i)
            asio::co_spawn(loop_, replay_again_and_again(s.gateway, request, &counts_),
                           asio::detached);
        thread_ = std::thread([this] { loop_.run(); });
    }
    storm(const storm&) = delete;
    storm& operator=(const storm&) = delete;
    ~storm() { stop(); }

    void stop() {
        loop_.stop();
        if (thread_.joinable())
            thread_.join();
    }
    const storm_counts& counts() const { return counts_; }

private:
    asio::io_context loop_{1};
    storm_counts counts_;
    std::thread thread_;
};

// Reads the recorded log's stream to its end, so that the log is whole.
coro::awaitable<void> read_to_end(stream& s) {
    results ignored(co_await asio::this_coro::executor);
    co_await read_stream(s.client.get(), &ignored);
}

} // namespace

coro::awaitable<void> scenario_storm(run_state& st) {
    // The log the storm replays: worker_ack, --storm-events events, the end.
    stream logged;
    co_await open_stream(st, 0, &logged);
    co_await connect_publishers(st);
    event_publisher& publisher = *st.publishers.front();
    co_await publisher.publish(logged.channel, ack_event);
    const std::string pad(st.s.payload, 'x');
    for (std::size_t i = 0; i < st.s.storm_events; ++i)
        co_await publisher.publish(logged.channel, event_json("FinalAnswerStream", pad));
    co_await publisher.publish(logged.channel, final_event);
    co_await read_to_end(logged);

    // The live sessions alone, then again with the storm under way.
    co_await scenario_streams(st);
    boost::json::object alone = latency_percentiles(st.got);
    st.got.reset();
    auto storm_start = steady::now();
    storm replaying(logged, st.s.storm_readers);
    co_await test::sleep_for(1s); // every reader is into its first replay
    co_await scenario_streams(st);
    replaying.stop();
    double storm_seconds = std::chrono::duration<double>(steady::now() - storm_start).count();

    const auto& counts = replaying.counts();
    double during_p99 = latency_percentiles(st.got).at("p99").to_number<double>();
    double alone_p99 = alone.at("p99").to_number<double>();
    st.report["storm"] = {{"readers", st.s.storm_readers},
                          {"log_events", st.s.storm_events},
                          {"replays", counts.replays.load()},
                          {"incomplete", counts.incomplete.load()},
                          {"megabytes_read", static_cast<double>(counts.bytes.load()) / 1e6},
                          {"seconds", storm_seconds},
                          {"live_p50_us_alone", alone.at("p50")},
                          {"live_p99_us_alone", alone.at("p99")},
                          {"live_p99_ratio", alone_p99 > 0 ? during_p99 / alone_p99 : 0.0}};
}

} // namespace ssebridge::bench
