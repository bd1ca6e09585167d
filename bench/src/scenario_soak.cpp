#include "scenarios.hpp"

#include "streams.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>

namespace ssebridge::bench {

namespace {
// The soak scenario: `concurrency` clients open sessions one after another
// for `duration` seconds against a gateway and a real worker (the reference
// worker); a `cut_share` of them hang up mid-answer (churn), every other
// answer is checked against `expect`, and the gateway's RSS and descriptors
// are sampled every 10 s.
struct soak_counts {
    std::size_t completed = 0;      ///< answers checked: acked, complete, exact
    std::size_t cut = 0;            ///< hung up mid-answer on purpose
    std::size_t failed = 0;         ///< refused, wrong, incomplete or ended by an error
    std::size_t events_checked = 0; ///< events of the completed sessions
    std::string first_failure;
};

std::size_t open_descriptors(std::size_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec))
        ++n;
    return n;
}

// One session of a soak client: what came of it.
coro::awaitable<void> soak_session(run_state& st, soak_counts& counts, std::size_t cut_after) {
    auto fail = [&](std::string why) {
        ++counts.failed;
        if (counts.first_failure.empty())
            counts.first_failure = std::move(why);
    };
    test::http_client client(co_await asio::this_coro::executor);
    co_await client.connect(st.gateway);
    co_await client.send(test::post_request(R"({"user_query":"soak"})"));
    test::http_head head = co_await client.read_head();
    if (head.status != 200) {
        fail("POST answered " + std::to_string(head.status));
        co_return;
    }
    std::string answer;
    bool acked = false, ended = false;
    std::size_t events = 0;
    for (;;) {
        std::optional<sse::message> m = co_await client.next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        if (++events == cut_after) {
            ++counts.cut; // hang up mid-answer
            co_return;
        }
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(m->data, ec);
        const boost::json::object* o = ec ? nullptr : v.if_object();
        const boost::json::value* type = o ? o->if_contains("event_type") : nullptr;
        if (!type || !type->is_string()) {
            fail("not an event: " + m->data);
            co_return;
        }
        std::string_view t = type->get_string();
        if (t == wire::event_type::worker_ack) {
            acked = true;
        } else if (t == "FinalAnswerStream") {
            const auto* c = o->at("payload").as_object().if_contains("char");
            answer += c && c->is_string() ? std::string_view(c->get_string()) : "?";
        } else if (t == wire::event_type::final_answer_end) {
            ended = true;
            break;
        } else if (t == "error") {
            fail("error event: " + m->data);
            co_return;
        }
    }
    if (!acked || !ended || answer != st.s.expect) {
        fail("answer '" + answer + "'" + (ended ? "" : " without its end") +
             (acked ? "" : " without worker_ack"));
        co_return;
    }
    ++counts.completed;
    counts.events_checked += events;
}

coro::awaitable<void> soak_client(run_state& st, soak_counts& counts, steady::time_point end,
                                  std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> share(0, 1);
    std::uniform_int_distribution<std::size_t> cut_at(1, 30);
    while (steady::now() < end) {
        std::size_t cut_after = share(rng) < st.s.cut_share ? cut_at(rng) : 0;
        co_await soak_session(st, counts, cut_after);
    }
}

coro::awaitable<void> soak_samples(run_state& st, const soak_counts& counts,
                                   steady::time_point start, boost::json::array& samples) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    for (;;) {
        std::size_t rss = rss_kib(st.s.gateway_pid);
        std::size_t fds = open_descriptors(st.s.gateway_pid);
        double t = std::chrono::duration<double>(steady::now() - start).count();
        samples.push_back(boost::json::array{t, rss, fds, counts.completed, counts.failed});
        std::cerr << "soak: " << static_cast<int>(t) << " s, gateway " << rss << " KiB, " << fds
                  << " fds, " << counts.completed << " sessions checked, " << counts.cut << " cut, "
                  << counts.failed << " failed" << std::endl;
        tick.expires_after(10s);
        co_await tick.async_wait(asio::use_awaitable);
    }
}
} // namespace

coro::awaitable<void> scenario_soak(run_state& st) {
    if (st.s.expect.empty() || st.s.gateway_pid == 0)
        throw std::invalid_argument("soak needs --expect (the worker's answer) and --gateway-pid");
    auto ex = co_await asio::this_coro::executor;
    soak_counts counts;
    boost::json::array samples;
    auto start = steady::now();
    auto end = start + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(st.s.duration));
    coro::task_group sampler(ex);
    sampler.spawn(soak_samples(st, counts, start, samples));
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.concurrency; ++i)
        clients.spawn(soak_client(st, counts, end, static_cast<std::uint32_t>(i + 1)));
    co_await clients.async_wait();
    sampler.cancel();
    co_await sampler.async_wait();
    samples.push_back(boost::json::array{
        std::chrono::duration<double>(steady::now() - start).count(), rss_kib(st.s.gateway_pid),
        open_descriptors(st.s.gateway_pid), counts.completed, counts.failed});
    boost::json::object soak;
    soak["sessions_checked"] = counts.completed;
    soak["sessions_cut"] = counts.cut;
    soak["sessions_failed"] = counts.failed;
    soak["events_checked"] = counts.events_checked;
    // Growth from the first sample after a minute (warm: pools filled) to the end.
    const auto& first = samples.size() > 7 ? samples[6].as_array() : samples.front().as_array();
    const auto& last = samples.back().as_array();
    soak["rss_kib_warm"] = first[1];
    soak["rss_kib_end"] = last[1];
    soak["fds_warm"] = first[2];
    soak["fds_end"] = last[2];
    st.report["soak"] = soak;
    st.report["soak_samples"] = samples; // [seconds, rss KiB, fds, checked, failed]
    st.report["seconds"] = std::chrono::duration<double>(steady::now() - start).count();
    if (!counts.first_failure.empty())
        st.report["first_failure"] = counts.first_failure;
}

} // namespace ssebridge::bench
