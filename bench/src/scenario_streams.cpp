#include "scenarios.hpp"

#include "streams.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <random>

namespace ssebridge::bench {

namespace {
// Samples the gateway's RSS every 100 ms into peak_rss_kib, until cancelled.
coro::awaitable<void> sample_rss(run_state& st) {
    for (;;) {
        st.peak_rss_kib = std::max(st.peak_rss_kib, rss_kib(st.s.gateway_pid));
        co_await test::sleep_for(100ms);
    }
}
} // namespace

coro::awaitable<void> scenario_streams(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    const bool resume = st.s.scenario == "resume";
    std::size_t started_before = 0; // Kafka records, to count the ones this run makes
    if (resume)
        started_before = co_await sessions_started(st);
    // Open the sessions, a few hundred at a time.
    std::vector<stream> streams(st.s.sessions);
    std::exception_ptr failure;
    coro::task_group openers(ex, [&](std::exception_ptr e) {
        if (!failure)
            failure = e;
    });
    for (std::size_t i = 0; i < streams.size() && !failure; ++i) {
        co_await openers.async_wait_fewer_than(200);
        openers.spawn(open_stream(st, i, &streams[i]));
    }
    co_await openers.async_wait();
    if (failure)
        std::rethrow_exception(failure);
    co_await connect_publishers(st);

    // The slow scenario: every k-th client reads its ack, then nothing more.
    std::vector<bool> unread(streams.size(), false);
    std::size_t slow_count = 0;
    if (st.s.scenario == "slow" && st.s.slow_share > 0) {
        auto every = static_cast<std::size_t>(std::max(1.0, 1.0 / st.s.slow_share));
        for (std::size_t i = 0; i < streams.size(); i += every, ++slow_count)
            unread[i] = true;
    }
    // The resume scenario: every k-th stream is cut once, at a random event.
    std::vector<std::size_t> cut_points(streams.size(), 0);
    st.resume.unique.assign(streams.size(), 0);
    if (resume && st.s.cut_share > 0) {
        std::mt19937 random(42);
        std::uniform_int_distribution<std::size_t> at(1, std::max<std::size_t>(1, st.s.events));
        auto every = static_cast<std::size_t>(std::max(1.0, 1.0 / st.s.cut_share));
        for (std::size_t i = 0; i < streams.size(); i += every)
            cut_points[i] = at(random);
    }
    // A reader that fails ends like one that finishes: the waits below count them.
    coro::task_group readers(ex, [&](std::exception_ptr) { st.got.progress.notify(); });
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        channels.push_back(streams[i].channel);
        if (unread[i]) {
            // Read the ack only: the stream is live, then this client stops reading.
            co_await st.publishers[0]->publish(channels.back(), ack_event);
            std::optional<sse::message> m = co_await streams[i].client->next_message();
            while (m && m->is_comment)
                m = co_await streams[i].client->next_message();
            st.got.record_ack();
            continue;
        }
        if (resume)
            readers.spawn(read_resumable(&st, &streams[i], i, cut_points[i]));
        else
            readers.spawn(read_stream(streams[i].client.get(), &st.got, st.s.profile == "ai-sdk"));
        co_await st.publishers[0]->publish(channels.back(), ack_event);
    }
    const std::size_t reading = streams.size() - slow_count;
    bool all_acked = co_await wait_for(
        st.got, [&] { return st.got.acked >= streams.size() || readers.size() < reading; }, 60s);
    if (!all_acked || readers.size() < reading)
        throw std::runtime_error("not every stream got its worker_ack");

    coro::task_group sampler(ex);
    if (st.s.gateway_pid)
        sampler.spawn(sample_rss(st));
    if (st.s.scenario == "idle") {
        std::size_t before = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        co_await test::sleep_for(std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(st.s.duration)));
        std::size_t after = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        st.report["gateway_rss_kib"] = after;
        st.report["gateway_rss_kib_before_wait"] = before;
    } else {
        std::size_t per_channel = st.s.events;
        double rate = st.s.rate;
        if (st.s.scenario == "latency" || st.s.scenario == "slow" || st.s.scenario == "storm") {
            per_channel = static_cast<std::size_t>(st.s.rate * st.s.duration /
                                                   static_cast<double>(streams.size()));
        }
        auto start = steady::now();
        co_await publish_all(st, channels, per_channel, rate, unread);
        std::size_t expected = per_channel * reading;
        co_await wait_for(
            st.got, [&] { return st.got.delivered >= expected || readers.size() < reading; }, 300s);
        if (readers.size() < reading)
            throw std::runtime_error(std::to_string(reading - readers.size()) +
                                     " streams ended early (see the gateway's log)");
        double secs = std::chrono::duration<double>(steady::now() - start).count();
        st.report["seconds"] = secs;
        st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
        st.report["expected"] = expected;
        st.report["slow_clients"] = slow_count;
        if (resume) {
            std::size_t records = co_await sessions_started(st);
            records -= started_before;
            std::size_t lost = 0;
            for (std::size_t i = 0; i < streams.size(); ++i)
                lost += per_channel > st.resume.unique[i] ? per_channel - st.resume.unique[i] : 0;
            auto& r = st.resume;
            std::sort(r.resume_us.begin(), r.resume_us.end());
            st.report["resume"] = {{"with", st.s.resume_with},
                                   {"cut", r.cut},
                                   {"lost", lost},
                                   {"kafka_records", records},
                                   {"duplicated", r.duplicated},
                                   {"resume_p50_us", percentile(r.resume_us, 50)},
                                   {"resume_p99_us", percentile(r.resume_us, 99)}};
        }
    }
    sampler.cancel();
    co_await sampler.async_wait();
    if (st.s.gateway_pid) {
        st.report["gateway_rss_kib_peak"] = st.peak_rss_kib;
        st.report["gateway_rss_kib_end"] = rss_kib(st.s.gateway_pid);
    }
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (!unread[i])
            co_await st.publishers[0]->publish(channels[i], final_event);
    bool ended = co_await coro::with_timeout(readers.async_wait(), 30s);
    if (!ended) {
        readers.cancel(); // the streams they read are about to go
        co_await readers.async_wait();
    }
}

} // namespace ssebridge::bench
