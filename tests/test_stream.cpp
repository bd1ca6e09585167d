// The streaming stage as one composed operation (gateway::async_stream),
// driven as a library user would: awaited by a coroutine, raced in a
// parallel_group, completed by a plain handler; on a real HTTP connection.
#include <ssebridge/gateway/stream.hpp>
#include <ssebridge/http/server.hpp>

#define BOOST_TEST_MODULE stream
#include <boost/test/unit_test.hpp>

#include "support/http_client.hpp"
#include "support/run.hpp"

#include <ssebridge/coro/exact_allocator.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

using namespace ssebridge;
using namespace ssebridge::test;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

std::string event(std::string_view type, std::string_view payload = "{}") {
    return R"({"event_type":")" + std::string(type) + R"(","payload":)" + std::string(payload) +
           "}";
}

coro::awaitable<void> park(http::exchange& ex, std::optional<http::response_stream>& parked) {
    bool started = co_await ex.start_stream("text/event-stream", {});
    if (started)
        parked.emplace(ex.take_stream());
}

/// A server whose one route leaves its stream in `parked`, a client that
/// opened it, and a `gateway::stream` attached to it.
struct fixture {
    fixture()
        : server(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), {})
        , client(ioc.get_executor()) {
        group.limits = {100000, 10s, 300s, 15s, 1s};
        server.route("GET", "/park", [this](http::exchange& ex) { return park(ex, parked); });
        asio::co_spawn(ioc, server.async_run(), [this](std::exception_ptr) { stopped = true; });
        run(ioc, client.connect(server.local_endpoint()));
        run(ioc, client.send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
        BOOST_TEST_REQUIRE(run(ioc, client.read_head()).status == 200u);
        run_until(
            ioc, [&] { return parked.has_value(); }, 5s);
        s.emplace(group, gateway::detail::stream_kind::creator, coro::clock::now());
        s->state().on_stream_started(coro::clock::now());
        s->attach(std::move(*parked));
    }
    ~fixture() {
        s.reset();
        server.stop();
        run_until(
            ioc, [this] { return stopped; }, 5s);
    }
    /// A message from the session's channel, as a subscription hands it.
    void publish(const std::string& message) {
        s->act(s->state().on_message(message, coro::clock::now()));
    }
    /// The data of the next frame the client reads.
    std::string next_data() {
        std::optional<sse::message> m = run(ioc, client.next_message(), 5s);
        BOOST_TEST_REQUIRE(m.has_value());
        return m->data;
    }

    asio::io_context ioc;
    http::server server;
    http_client client;
    bool stopped = false;
    std::optional<http::response_stream> parked;
    gateway::stream_group group;
    std::optional<gateway::stream> s;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(async_stream, fixture)

BOOST_AUTO_TEST_CASE(a_coroutine_awaits_it_until_the_terminal_event) {
    std::optional<error_code> result;
    asio::co_spawn(
        ioc,
        [&]() -> coro::awaitable<void> {
            auto [ec] = co_await gateway::async_stream(*s, coro::use_tuple);
            result = ec;
        },
        asio::detached);
    publish(event("AgentThoughtStream", R"({"char":"early"})")); // held until the ack
    publish(event("worker_ack"));
    BOOST_TEST(next_data() == event("worker_ack"));
    BOOST_TEST(next_data() == event("AgentThoughtStream", R"({"char":"early"})"));
    publish(event("FinalAnswerStream", R"({"char":"P"})"));
    BOOST_TEST(next_data() == event("FinalAnswerStream", R"({"char":"P"})"));
    BOOST_TEST(!result.has_value()); // it streams on
    publish(event("FinalAnswerStreamEnd"));
    BOOST_TEST(next_data() == event("FinalAnswerStreamEnd"));
    run_until(
        ioc, [&] { return result.has_value(); }, 5s);
    BOOST_TEST(!*result);
    BOOST_TEST(s->state().completed());
    BOOST_TEST(group.events_written == 4u);
    BOOST_TEST(!run(ioc, client.next_message(), 5s).has_value()); // the response ended
}

BOOST_AUTO_TEST_CASE(raced_in_a_parallel_group_its_cancellation_ends_it_with_its_error_event) {
    std::optional<std::size_t> first;
    error_code stream_ec;
    asio::steady_timer deadline(ioc, 200ms);
    asio::experimental::make_parallel_group(gateway::async_stream(*s, asio::deferred),
                                            deadline.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(),
                    [&](std::array<std::size_t, 2> order, error_code ec, error_code) {
                        first = order[0];
                        stream_ec = ec;
                    });
    publish(event("worker_ack"));
    BOOST_TEST(next_data() == event("worker_ack"));
    run_until(
        ioc, [&] { return first.has_value(); }, 5s);
    BOOST_TEST(*first == 1u); // the timer won, and the group cancelled the stream
    BOOST_TEST(stream_ec == asio::error::operation_aborted);
    BOOST_TEST(next_data() == R"({"event_type":"error","payload":{"error":"server shutting down",)"
                              R"("code":"shutting_down","retryable":true}})");
    BOOST_TEST((s->state().end_code() == wire::end_code::shutting_down));
    BOOST_TEST(!run(ioc, client.next_message(), 5s).has_value());
}

BOOST_AUTO_TEST_CASE(a_plain_handler_on_an_exact_allocator_hears_the_client_leave) {
    std::optional<error_code> result;
    gateway::async_stream(*s, asio::bind_allocator(coro::exact_allocator<void>(),
                                                   [&](error_code ec) { result = ec; }));
    publish(event("worker_ack"));
    BOOST_TEST(next_data() == event("worker_ack"));
    run(ioc, sleep_for(50ms));
    BOOST_TEST(!result.has_value()); // idle: one wait on the socket, nothing else
    client.close();
    run_until(
        ioc, [&] { return result.has_value(); }, 5s);
    BOOST_TEST(*result == asio::error::eof);
    BOOST_TEST(!s->state().end_code()); // the client left: no error event decided
}

BOOST_AUTO_TEST_CASE(what_a_full_socket_leaves_the_operation_writes_in_order) {
    std::optional<error_code> result;
    gateway::async_stream(*s, [&](error_code ec) { result = ec; });
    publish(event("worker_ack"));
    // The client reads nothing while 8 MB go out: the socket fills.
    const std::string big(64 * 1024, 'x');
    constexpr int count = 128;
    for (int i = 0; i < count; ++i)
        publish(event("FinalAnswerStream",
                      R"({"n":)" + std::to_string(i) + R"(,"text":")" + big + R"("})"));
    publish(event("FinalAnswerStreamEnd"));
    run(ioc, sleep_for(50ms));
    BOOST_TEST(!result.has_value()); // still writing
    BOOST_TEST(next_data() == event("worker_ack"));
    for (int i = 0; i < count; ++i) {
        std::string data = next_data();
        BOOST_TEST_REQUIRE(data.starts_with(R"({"event_type":"FinalAnswerStream","payload":{"n":)" +
                                            std::to_string(i) + ","));
    }
    BOOST_TEST(next_data() == event("FinalAnswerStreamEnd"));
    run_until(
        ioc, [&] { return result.has_value(); }, 5s);
    BOOST_TEST(!*result);
    BOOST_TEST(group.events_written == count + 2u);
}

BOOST_AUTO_TEST_CASE(a_write_that_waits_past_the_write_timeout_ends_it_timed_out) {
    std::optional<error_code> result;
    gateway::async_stream(*s, [&](error_code ec) { result = ec; });
    publish(event("worker_ack"));
    const std::string big(64 * 1024, 'x');
    for (int i = 0; i < 128; ++i)
        publish(event("FinalAnswerStream", R"({"text":")" + big + R"("})"));
    // The clock, as the gateway's would tick: the client never reads.
    run(ioc, sleep_for(50ms));
    s->act(s->state().on_tick(coro::clock::now()));
    BOOST_TEST(!result.has_value()); // within the write timeout (1 s)
    run(ioc, sleep_for(1100ms));
    s->act(s->state().on_tick(coro::clock::now()));
    run_until(
        ioc, [&] { return result.has_value(); }, 5s);
    BOOST_TEST(*result == asio::error::timed_out);
    BOOST_TEST((s->state().end_code() == wire::end_code::write_timeout));
}

BOOST_AUTO_TEST_CASE(keepalives_and_the_idle_wait_hold_no_frame) {
    // Idle, the operation's only pending work is the socket wait: the clock's
    // keepalive goes out from `act`, at once, without waking it.
    std::optional<error_code> result;
    gateway::async_stream(*s, [&](error_code ec) { result = ec; });
    publish(event("worker_ack"));
    BOOST_TEST(next_data() == event("worker_ack"));
    s->act(s->state().on_tick(coro::clock::now() + 16s)); // past --keepalive
    std::optional<std::string> piece = run(ioc, client.read_body_piece(), 5s);
    BOOST_TEST_REQUIRE(piece.has_value());
    BOOST_TEST(*piece == ": keepalive\n\n");
    BOOST_TEST(!result.has_value());
    publish(event("FinalAnswerStreamEnd"));
    run_until(
        ioc, [&] { return result.has_value(); }, 5s);
    BOOST_TEST(!*result);
}

BOOST_AUTO_TEST_SUITE_END()
