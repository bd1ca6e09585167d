// The session pipeline end to end: real redis-server, embedded Kafka mock,
// real HTTP over loopback, all on one io_context.
#include <ssebridge/gateway/gateway.hpp>

#define BOOST_TEST_MODULE gateway
#include <boost/test/unit_test.hpp>

#include "support/gateway_harness.hpp"
#include "support/shared_redis.hpp"

#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/kafka/mock_cluster.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <random>

using namespace ssebridge;
using namespace ssebridge::test;
using clock_type = std::chrono::steady_clock;

namespace {

BOOST_TEST_GLOBAL_FIXTURE(shared_redis);

std::string event_type(const sse::message& m) {
    return std::string(boost::json::parse(m.data).at("event_type").as_string());
}

std::string error_of(const sse::message& m) {
    auto v = boost::json::parse(m.data);
    BOOST_TEST(v.at("event_type").as_string() == "error");
    return std::string(v.at("payload").at("error").as_string());
}

std::vector<sse::message> events_only(std::vector<sse::message> all) {
    std::erase_if(all, [](const sse::message& m) { return m.is_comment; });
    return all;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_session_relays_the_worker_in_order_and_ends_after_the_final_event) {
    gateway_harness h(shared_server());
    open_stream s =
        h.open_ok(R"({"user_query":"What is the capital of France?","model_alias":"smart_agent"})");
    BOOST_TEST(s.head.header("Content-Type").value_or("").rfind("text/event-stream", 0) == 0u);
    BOOST_TEST(s.head.header("Cache-Control").value_or("") == "no-cache");
    BOOST_TEST(s.head.header("X-Accel-Buffering").value_or("") == "no");
    BOOST_TEST(s.id.size() == 32u);
    BOOST_TEST(h.numsub(s.id) == 1);

    // Before the ack: held. Malformed: skipped. Unknown type: passed through.
    h.publish(s.id, event("AgentThoughtStream", R"({"char":"H"})"));
    h.publish(s.id, "not json at all");
    h.publish(s.id, event("worker_ack"));
    h.publish(s.id, event("SomethingNew", R"({"x":[1,2]})"));
    h.publish(s.id, "{\n\"event_type\": \"FinalAnswerStream\",\n\"payload\": {\"char\": \"P\"}\n}");
    h.publish(s.id, event("FinalAnswerStreamEnd"));
    h.publish(s.id, event("AfterTheEnd"));

    auto all = events_only(h.read_all(*s.client));
    std::vector<std::string> types;
    for (auto& m : all)
        types.push_back(event_type(m));
    std::vector<std::string> expected{"worker_ack", "AgentThoughtStream", "SomethingNew",
                                      "FinalAnswerStream", "FinalAnswerStreamEnd"};
    BOOST_TEST(types == expected, boost::test_tools::per_element());
    BOOST_TEST(all[2].data == event("SomethingNew", R"({"x":[1,2]})")); // verbatim
    BOOST_TEST(h.gw->stats().malformed_messages == 1u);
    BOOST_TEST(eventually(h.ioc, [&] { return h.gw->stats().streams_completed == 1u; }));
    h.wait_idle();
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub(s.id) == 0; }));

    // The connection serves the next session.
    run(h.ioc, s.client->send(post_request(R"({"user_query":"again"})")));
    http_head again = run(h.ioc, s.client->read_head());
    BOOST_TEST(again.status == 200u);
}

BOOST_AUTO_TEST_CASE(every_frame_is_exactly_the_seed_format_on_the_wire) {
    gateway_harness h(shared_server());
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    h.publish(s.id, event("FinalAnswerStreamEnd"));
    std::string body = run(h.ioc, s.client->read_body());
    BOOST_TEST(body == "data: " + event("worker_ack") +
                           "\n\ndata: " + event("FinalAnswerStreamEnd") + "\n\n");
}

BOOST_AUTO_TEST_CASE(chunked_request_bodies_are_accepted) {
    gateway_harness h(shared_server());
    http_client c(h.ioc.get_executor());
    run(h.ioc, c.connect(h.gw->local_endpoint()));
    std::string body = R"({"user_query":"chunked"})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    run(h.ioc,
        c.send("POST /v1/react/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" +
               std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n"));
    http_head head = run(h.ioc, c.read_head());
    BOOST_TEST(head.status == 200u);
}

BOOST_AUTO_TEST_CASE(errors_before_the_stream_carry_a_json_detail) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.max_body = 200; });
    auto expect = [&](std::string raw, unsigned status) {
        http_client c(h.ioc.get_executor());
        run(h.ioc, c.connect(h.gw->local_endpoint()));
        auto [head, body] = run(h.ioc, c.exchange(std::move(raw)));
        BOOST_TEST(head.status == status, raw.substr(0, 60));
        auto detail = boost::json::parse(body).at("detail");
        BOOST_TEST(detail.is_string());
        BOOST_TEST(!detail.as_string().empty());
        return head;
    };
    expect(post_request(R"({"user_query":"x"})", "text/plain"), 415);
    expect(post_request(R"({"user_query":"x"})", ""), 415);
    expect(post_request("", "application/json"), 400);
    expect(post_request("{oops", "application/json"), 400);
    expect(post_request("[1,2]", "application/json"), 422);
    expect(post_request("{}", "application/json"), 422);
    expect(post_request(R"({"user_query":42})", "application/json"), 422);
    expect(post_request(R"({"user_query":""})", "application/json"), 422);
    expect(post_request(R"({"user_query":")" + std::string(300, 'q') + "\"}", "application/json"),
           413);
    expect("POST /v1/react/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\r\n",
           411);
    expect("GET /v1/nothing HTTP/1.1\r\nHost: t\r\n\r\n", 404);
    http_head h405 = expect("GET /v1/react/sessions HTTP/1.1\r\nHost: t\r\n\r\n", 405);
    BOOST_TEST(h405.header("Allow").value_or("") == "POST");
    BOOST_TEST(h.gw->live_sessions() == 0u);
}

BOOST_AUTO_TEST_CASE(keepalives_fill_silence_from_the_headers_on_and_restart_at_every_write) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        c.keepalive = 0.5;
    }); // far above the 50 ms pace below
    open_stream s = h.open_ok();
    auto first = run(h.ioc, s.client->next_message(), 5s); // before the ack
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(first->is_comment);
    BOOST_TEST(first->comment == "keepalive");

    h.publish(s.id, event("worker_ack"));
    BOOST_TEST(event_type(h.next_event(*s.client)) == "worker_ack");
    // Events every 50 ms: the clock restarts each time, so no keepalive.
    for (int i = 0; i < 12; ++i) {
        h.publish(s.id, event("AgentThoughtStream", R"({"char":"a"})"));
        auto m = run(h.ioc, s.client->next_message(), 5s);
        BOOST_TEST_REQUIRE(m.has_value());
        BOOST_TEST(!m->is_comment);
        run(h.ioc, sleep_for(50ms));
    }
    auto start = clock_type::now();
    auto quiet = run(h.ioc, s.client->next_message(), 5s);
    BOOST_TEST(quiet->is_comment);
    BOOST_TEST((clock_type::now() - start >= 400ms));
}

BOOST_AUTO_TEST_CASE(no_ack_in_time_is_an_error_event_and_frees_the_session) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.ack_timeout = 0.3; });
    auto start = clock_type::now();
    open_stream s = h.open_ok();
    auto all = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(error_of(all[0]).find("acknowledge") != std::string::npos);
    BOOST_TEST((clock_type::now() - start >= 300ms));
    h.wait_idle();
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub(s.id) == 0; }));
    BOOST_TEST(h.gw->stats().failed(wire::end_code::ack_timeout) == 1u);
}

BOOST_AUTO_TEST_CASE(silence_after_the_ack_ends_with_an_error_event) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        c.idle_timeout = 0.4;
        c.keepalive = 0.1; // keepalives are not events: they do not hold the session open
    });
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    auto all = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(all.size() == 2u);
    BOOST_TEST(event_type(all[0]) == "worker_ack");
    BOOST_TEST(error_of(all[1]).find("no event") != std::string::npos);
    BOOST_TEST(h.gw->stats().failed(wire::end_code::idle_timeout) == 1u);
}

BOOST_AUTO_TEST_CASE(events_before_the_ack_are_bounded) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.max_queue = 4; });
    open_stream s = h.open_ok();
    for (int i = 0; i < 5; ++i)
        h.publish(s.id, event("AgentThoughtStream", R"({"char":"x"})"));
    auto all = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(error_of(all[0]).find("before worker_ack") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(client_hanging_up_before_the_ack_cancels_everything) {
    gateway_harness h(shared_server());
    open_stream s = h.open_ok();
    BOOST_TEST(h.numsub(s.id) == 1);
    s.client->close();
    h.wait_idle();
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub(s.id) == 0; }));
    BOOST_TEST(h.gw->stats().client_disconnects == 1u);
}

BOOST_AUTO_TEST_CASE(client_hanging_up_mid_stream_cancels_everything) {
    gateway_harness h(shared_server());
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    h.publish(s.id, event("AgentThoughtStream", R"({"char":"x"})"));
    BOOST_TEST(event_type(h.next_event(*s.client)) == "worker_ack");
    BOOST_TEST(event_type(h.next_event(*s.client)) == "AgentThoughtStream");
    s.client->close();
    h.wait_idle();
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub(s.id) == 0; }));
    // Messages for the dead session are dropped, not an error.
    BOOST_TEST(h.publish(s.id, event("AgentThoughtStream")) == 0);
}

BOOST_AUTO_TEST_CASE(too_many_sessions_is_503) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.max_sessions = 2; });
    open_stream a = h.open_ok();
    open_stream b = h.open_ok();
    open_stream c = run(h.ioc, h.open(R"({"user_query":"third"})"));
    BOOST_TEST(c.head.status == 503u);
    std::string body = run(h.ioc, c.client->read_body());
    BOOST_TEST(body.find("too many sessions") != std::string::npos);
    BOOST_TEST(h.gw->stats().rejected == 1u); // every 503 the gateway writes, once
    a.client->close();
    run_until(
        h.ioc, [&] { return h.gw->live_sessions() == 1; }, 5s);
    open_stream d = h.open_ok(); // room again
}

// The histograms and the ends by code, in the exposition an operator scrapes.
BOOST_AUTO_TEST_CASE(metrics_time_the_session_and_count_its_end_by_code) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.ack_timeout = 0.3; });
    open_stream s = h.open_ok();
    run(h.ioc, sleep_for(50ms));
    h.publish(s.id, event("worker_ack"));
    // A recorded event 40 ms old (its id's time): lag between 40 ms and a generous bound.
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    h.publish(s.id, R"({"id":")" + std::to_string(now_ms - 40) +
                        R"(-0","event_type":"FinalAnswerStream","payload":{"char":"x"}})");
    h.publish(s.id, event("FinalAnswerStreamEnd"));
    h.read_all(*s.client);
    open_stream unanswered = h.open_ok(); // its worker never acks
    h.read_all(*unanswered.client);
    BOOST_TEST_REQUIRE(eventually(h.ioc, [&] {
        return metric_value(h.gw->metrics_text(), "ssebridge_stream_duration_seconds_count") == "2";
    }));

    std::string text = h.gw->metrics_text();
    BOOST_TEST(text.find("# TYPE ssebridge_session_setup_seconds histogram") != std::string::npos);
    BOOST_TEST(metric_value(text, "ssebridge_session_setup_seconds_count") == "2");
    BOOST_TEST(metric_value(text, R"(ssebridge_session_setup_seconds_bucket{le="+Inf"})") == "2");
    // The ack came after 50 ms: not within 25, within 250 (and only one came).
    BOOST_TEST(metric_value(text, "ssebridge_ack_wait_seconds_count") == "1");
    BOOST_TEST(metric_value(text, R"(ssebridge_ack_wait_seconds_bucket{le="0.025"})") == "0");
    BOOST_TEST(metric_value(text, R"(ssebridge_ack_wait_seconds_bucket{le="0.25"})") == "1");
    // Only the recorded event has a lag.
    BOOST_TEST(metric_value(text, "ssebridge_event_lag_seconds_count") == "1");
    BOOST_TEST(metric_value(text, R"(ssebridge_event_lag_seconds_bucket{le="0.025"})") == "0");
    BOOST_TEST(metric_value(text, R"(ssebridge_event_lag_seconds_bucket{le="1"})") == "1");
    BOOST_TEST(metric_value(text, R"(ssebridge_streams_ended_total{code="completed"})") == "1");
    BOOST_TEST(metric_value(text, R"(ssebridge_streams_ended_total{code="ack_timeout"})") == "1");
    BOOST_TEST(metric_value(text, R"(ssebridge_streams_ended_total{code="slow_client"})") == "0");
    BOOST_TEST(metric_value(text, R"(ssebridge_streams_ended_total{code="client_gone"})") == "0");
    BOOST_TEST(h.gw->stats().failed(wire::end_code::ack_timeout) == 1u);
}

BOOST_AUTO_TEST_CASE(a_slow_client_is_cut_off_and_nobody_else_waits) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        c.max_queue = 16;
        c.write_timeout = 10; // a session waiting on the slow one would take this long
    });
    open_stream slow = h.open_ok();
    h.publish(slow.id, event("worker_ack"));
    std::string big =
        event("FinalAnswerStream", "{\"char\":\"" + std::string(64 * 1024, 'z') + "\"}");
    // Far more than the socket buffers hold while the client reads nothing.
    for (int i = 0; i < 600 && h.gw->stats().failed(wire::end_code::slow_client) == 0; ++i)
        h.publish(slow.id, big);
    run_until(
        h.ioc, [&] { return h.gw->stats().failed(wire::end_code::slow_client) == 1; }, 10s);

    // Another session is served at once meanwhile.
    auto start = clock_type::now();
    open_stream fast = h.open_ok();
    h.publish(fast.id, event("worker_ack"));
    h.publish(fast.id, event("FinalAnswerStreamEnd"));
    auto fast_events = events_only(h.read_all(*fast.client));
    BOOST_TEST(fast_events.size() == 2u);
    BOOST_TEST((clock_type::now() - start < 3s));

    // The slow client, once it reads, finds the error at the end.
    auto all = events_only(h.read_all(*slow.client, 30s));
    BOOST_TEST_REQUIRE(!all.empty());
    BOOST_TEST(error_of(all.back()).find("too slow") != std::string::npos);
    h.wait_idle();
}

BOOST_AUTO_TEST_CASE(a_client_that_stops_reading_is_dropped_after_the_write_timeout) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        c.max_queue = 100000; // the queue never fills: only the write timeout can act
        c.write_timeout = 0.5;
        c.keepalive = 0.2; // the clock wakes often; it must not mistake that for progress
    });
    open_stream stuck = h.open_ok();
    h.publish(stuck.id, event("worker_ack"));
    std::string big =
        event("FinalAnswerStream", "{\"char\":\"" + std::string(64 * 1024, 'z') + "\"}");
    // Fill the socket buffers until a write stays pending.
    for (int i = 0; i < 200 && h.gw->stats().failed(wire::end_code::write_timeout) == 0; ++i) {
        h.publish(stuck.id, big);
        run(h.ioc, sleep_for(5ms));
    }
    auto start = clock_type::now();
    run_until(
        h.ioc, [&] { return h.gw->stats().failed(wire::end_code::write_timeout) == 1; }, 10s);
    BOOST_TEST((clock_type::now() - start < 5s));
    BOOST_TEST(h.gw->stats().failed(wire::end_code::slow_client) == 0u);
    // The session and its subscription are gone; the connection is closed.
    run_until(
        h.ioc, [&] { return h.gw->live_sessions() == 0 && h.numsub(stuck.id) == 0; }, 5s);
    BOOST_TEST(run(h.ioc, stuck.client->wait_eof(), 30s));
    h.wait_idle();
}

BOOST_AUTO_TEST_CASE(keepalives_keep_coming_while_a_stream_waits) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.keepalive = 0.2; });
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    BOOST_TEST(event_type(h.next_event(*s.client)) == "worker_ack");
    // Several periods in a row: each quiet period brings one comment.
    auto start = clock_type::now();
    int comments = 0;
    while (comments < 4) {
        std::optional<sse::message> m = run(h.ioc, s.client->next_message(), 5s);
        BOOST_TEST_REQUIRE(m.has_value());
        BOOST_TEST_REQUIRE(m->is_comment);
        BOOST_TEST(m->comment == "keepalive");
        ++comments;
    }
    BOOST_TEST((clock_type::now() - start >= 600ms));
    h.publish(s.id, event("FinalAnswerStreamEnd"));
    auto rest = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(rest.size() == 1u);
    BOOST_TEST(event_type(rest[0]) == "FinalAnswerStreamEnd");
}

BOOST_AUTO_TEST_CASE(stopping_ends_every_stream_with_an_error_event) {
    auto h = std::make_unique<gateway_harness>(shared_server());
    open_stream acked = h->open_ok();
    open_stream waiting = h->open_ok();
    h->publish(acked.id, event("worker_ack"));
    BOOST_TEST(event_type(h->next_event(*acked.client)) == "worker_ack");
    h->gw->stop();
    for (open_stream* s : {&acked, &waiting}) {
        auto all = events_only(h->read_all(*s->client));
        BOOST_TEST_REQUIRE(!all.empty());
        BOOST_TEST(error_of(all.back()) == "server shutting down");
    }
    run_until(
        h->ioc, [&] { return h->stopped; }, 10s);
    BOOST_TEST(!h->failure);
}

BOOST_AUTO_TEST_CASE(losing_redis_ends_streams_with_an_error_and_recovers) {
    redis_server own;
    gateway_harness h(own);
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    BOOST_TEST(event_type(h.next_event(*s.client)) == "worker_ack");
    own.stop();
    auto all = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(error_of(all[0]).find("backend lost") != std::string::npos);

    open_stream refused = run(h.ioc, h.open(R"({"user_query":"x"})"));
    BOOST_TEST(refused.head.status == 503u);
    BOOST_TEST(run(h.ioc, refused.client->read_body()).find("Redis unavailable") !=
               std::string::npos);

    own.start();
    run_until(
        h.ioc, [&] { return h.gw->redis_connected(); }, 10s);
    redis::client fresh(h.ioc.get_executor(), redis::config::from_url(own.url()).value());
    run(h.ioc, fresh.async_connect());
    bool fresh_done = false;
    asio::co_spawn(h.ioc, fresh.async_run(),
                   [&](std::exception_ptr, boost::system::error_code) { fresh_done = true; });
    open_stream back = h.open_ok();
    BOOST_TEST(run(h.ioc, fresh.async_publish("sse_session:" + back.id, event("worker_ack"))) == 1);
    BOOST_TEST(event_type(h.next_event(*back.client)) == "worker_ack");
    fresh.close();
    run_until(
        h.ioc, [&] { return fresh_done; }, 5s); // its reader must end before it goes
}

namespace {
std::pair<http_head, std::string> get(gateway_harness& h, const std::string& path) {
    http_client c(h.ioc.get_executor());
    run(h.ioc, c.connect(h.gw->local_endpoint()));
    return run(h.ioc, c.exchange("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"));
}
unsigned status_of(gateway_harness& h, const std::string& path) {
    return get(h, path).first.status;
}
/// Why /readyz says not ready ("" when it is ready).
std::string readiness_detail(gateway_harness& h) {
    auto [head, body] = get(h, "/readyz");
    if (head.status == 200u)
        return "";
    return std::string(boost::json::parse(body).at("detail").as_string());
}
} // namespace

BOOST_AUTO_TEST_CASE(a_hung_redis_ends_streams_refuses_sessions_and_makes_the_gateway_unready) {
    redis_server own;
    gateway_harness h(own, [](gateway::config& c) { c.redis_timeout = 0.4; });
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 200u; }, 10s); // its first canary came back
    open_stream s = h.open_ok();
    h.publish(s.id, event("worker_ack"));
    BOOST_TEST(event_type(h.next_event(*s.client)) == "worker_ack");

    own.pause(); // SIGSTOP: connections stay up, nothing answers
    auto paused = clock_type::now();
    auto all = events_only(h.read_all(*s.client));
    BOOST_TEST((clock_type::now() - paused < 1500ms)); // a quiet stream: the PING finds it
    BOOST_TEST_REQUIRE(all.size() == 1u);
    auto end = boost::json::parse(all[0].data);
    BOOST_TEST(end.at("payload").at("code").as_string() == "backend_lost");
    BOOST_TEST(end.at("payload").at("retryable").as_bool());

    auto asked = clock_type::now();
    open_stream refused = run(h.ioc, h.open(R"({"user_query":"x"})"));
    BOOST_TEST(refused.head.status == 503u);
    BOOST_TEST((clock_type::now() - asked < 1s));
    BOOST_TEST(status_of(h, "/readyz") == 503u);
    BOOST_TEST(status_of(h, "/healthz") == 200u); // alive: a restart would not help

    own.resume();
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 200u; }, 10s);
    open_stream back = h.open_ok();
    BOOST_TEST(h.publish(back.id, event("worker_ack")) == 1);
    BOOST_TEST(event_type(h.next_event(*back.client)) == "worker_ack");
}

// Readiness is checked end to end: a canary through Redis Pub/Sub and back,
// and a Kafka broker connected.
BOOST_AUTO_TEST_CASE(readiness_follows_pubsub_and_kafka) {
    redis_server own;
    gateway_harness h(own, [](gateway::config& c) { c.redis_timeout = 0.5; });
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 200u; }, 10s);
    // Pub/Sub blocked (writes paused: PUBLISH waits) while connections stay up.
    run(h.ioc, h.publisher->async_exec(redis::make_command({"CLIENT", "PAUSE", "3000", "WRITE"})));
    auto paused = clock_type::now();
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 503u; }, 5s);
    auto to_503 = clock_type::now() - paused;
    BOOST_TEST((to_503 < 2500ms)); // before the pause ends by itself
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 200u; }, 15s);
    auto back = clock_type::now() - paused - 3000ms;
    std::cout << "readiness: Pub/Sub blocked -> 503 in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(to_503).count()
              << " ms; 200 again "
              << std::chrono::duration_cast<std::chrono::milliseconds>(back).count()
              << " ms after the pause ended (--redis-timeout 0.5)\n";
    BOOST_TEST(status_of(h, "/healthz") == 200u);

    std::uint16_t nobody = free_port();
    gateway_harness no_kafka(shared_server(), [&](gateway::config& c) {
        c.kafka_brokers = "127.0.0.1:" + std::to_string(nobody);
    });
    // Not merely "starting": unready because no broker answers.
    BOOST_TEST(eventually(
        no_kafka.ioc, [&] { return readiness_detail(no_kafka).find("Kafka") != std::string::npos; },
        5s));
    BOOST_TEST(status_of(no_kafka, "/readyz") == 503u);
}

BOOST_AUTO_TEST_CASE(at_max_connections_newcomers_get_503_at_once_and_it_is_counted) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.max_connections = 3; });
    std::vector<std::unique_ptr<http_client>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<http_client>(h.ioc.get_executor()));
        run(h.ioc, held.back()->connect(h.gw->local_endpoint()));
    }
    run_until(
        h.ioc,
        [&] {
            return h.gw->metrics_text().find("ssebridge_http_connections 3") != std::string::npos;
        },
        5s);
    auto asked = clock_type::now();
    BOOST_TEST(status_of(h, "/readyz") == 503u); // refused, not left hanging in the backlog
    BOOST_TEST((clock_type::now() - asked < 1s));
    BOOST_TEST(h.gw->metrics_text().find("ssebridge_http_connections_refused_total 1") !=
               std::string::npos);
    held.pop_back();
    run_until(
        h.ioc, [&] { return status_of(h, "/readyz") == 200u; }, 5s);
}

// The default --max-body must be what Kafka takes too: the largest body is a
// session, one byte more a 413, never a retryable 503.
BOOST_AUTO_TEST_CASE(the_largest_body_allowed_reaches_kafka) {
    gateway_harness h(shared_server());
    const std::size_t limit = gateway::config{}.max_body;
    std::string prefix = R"({"user_query":")";
    std::string largest = prefix + std::string(limit - prefix.size() - 2, 'x') + "\"}";
    BOOST_TEST_REQUIRE(largest.size() == limit);
    open_stream ok = run(h.ioc, h.open(largest), 30s);
    BOOST_TEST(ok.head.status == 200u);
    open_stream over = run(h.ioc, h.open(largest + " "), 30s);
    BOOST_TEST(over.head.status == 413u);
}

// Kafka faults through the mock cluster's own controls.
BOOST_AUTO_TEST_CASE(kafka_faults_are_503_with_the_session_id_and_pass) {
    kafka::mock_cluster cluster;
    cluster.create_topic("react_requests");
    gateway_harness h(shared_server(), [&](gateway::config& c) {
        c.kafka_brokers = cluster.bootstrap_servers();
        c.kafka_timeout = 1;
    });
    auto open_timed = [&](clock_type::duration& took) {
        auto asked = clock_type::now();
        open_stream s = run(h.ioc, h.open(R"({"user_query":"x"})"), 20s);
        took = clock_type::now() - asked;
        return s;
    };
    clock_type::duration took{};
    BOOST_TEST(open_timed(took).head.status == 200u);

    cluster.fail_produce_requests(2, 7); // REQUEST_TIMED_OUT: the producer retries
    BOOST_TEST(open_timed(took).head.status == 200u);

    cluster.set_broker_up(1, false);
    open_stream down = open_timed(took);
    BOOST_TEST(down.head.status == 503u);
    BOOST_TEST((took >= 1s)); // --kafka-timeout
    BOOST_TEST((took < 2s));
    BOOST_TEST(down.id.size() == 32u);
    BOOST_TEST(h.gw->stats().rejected == 1u);
    cluster.set_broker_up(1, true);
    BOOST_TEST(eventually(
        h.ioc, [&] { return open_timed(took).head.status == 200u; }, 20s));

    // Last: librdkafka then fails the topic's records at once until it refreshes metadata.
    cluster.fail_produce_requests(1, 29); // TOPIC_AUTHORIZATION_FAILED: final
    std::uint64_t rejected = h.gw->stats().rejected;
    open_stream refused = open_timed(took);
    BOOST_TEST(refused.head.status == 503u);
    BOOST_TEST((took < 1s)); // reported at once, not at the timeout
    BOOST_TEST(refused.id.size() == 32u);
    BOOST_TEST(h.gw->stats().rejected == rejected + 1);
    BOOST_TEST(run(h.ioc, refused.client->read_body()).find("authorization") != std::string::npos);
    BOOST_TEST(eventually(h.ioc, [&] { // neither refused session is ever worked on
        for (const auto& id : {refused.id, down.id})
            if (run(h.ioc, h.publisher->async_exec(redis::make_command(
                               {"EXISTS", "sse_cancel:{sse_session:" + id + "}"})))
                    .integer != 1)
                return false;
        return true;
    }));
}

BOOST_AUTO_TEST_CASE(kafka_not_delivering_in_time_is_503) {
    std::uint16_t nobody = free_port();
    gateway_harness h(shared_server(), [&](gateway::config& c) {
        c.kafka_brokers = "127.0.0.1:" + std::to_string(nobody);
        c.kafka_timeout = 0.5;
    });
    auto start = clock_type::now();
    open_stream s = run(h.ioc, h.open(R"({"user_query":"x"})"));
    BOOST_TEST(s.head.status == 503u);
    BOOST_TEST(run(h.ioc, s.client->read_body()).find("Kafka") != std::string::npos);
    auto took = clock_type::now() - start;
    BOOST_TEST((took >= 500ms)); // --kafka-timeout, not librdkafka's once-a-second scan
    BOOST_TEST((took < 1s));
    h.wait_idle(); // the subscription made before the produce is gone
    // The record may still be delivered later: its session is tombstoned, so
    // the worker libraries never run it.
    std::string id = s.head.header("X-Session-Id").value_or("");
    BOOST_TEST_REQUIRE(id.size() == 32u);
    BOOST_TEST(eventually(h.ioc, [&] {
        return run(h.ioc, h.publisher->async_exec(redis::make_command(
                              {"EXISTS", "sse_cancel:{sse_session:" + id + "}"})))
                   .integer == 1;
    }));
}

// A worker as the design has it: consume the record (consumer group), publish the answer.
coro::awaitable<std::string> serve_one_request(kafka::consumer& consumer,
                                               redis::client& publisher) {
    kafka::record r = co_await consumer.async_receive();
    auto record = boost::json::parse(r.value);
    std::string id(record.at("session_id").as_string());
    std::string channel = "sse_session:" + id;
    std::vector<std::string> script{event("worker_ack"),
                                    event("AgentThoughtStream", R"({"char":"H"})"),
                                    event("AgentThoughtStream", R"({"char":"i"})"),
                                    event("AgentToolCallStart", R"({"tool_name":"search"})"),
                                    event("FinalAnswerStream", R"({"char":"P"})"),
                                    event("FinalAnswerStreamEnd")};
    for (auto& e : script)
        co_await publisher.async_publish(channel, e);
    co_return r.key + "|" + r.value;
}

BOOST_AUTO_TEST_CASE(a_kafka_worker_answers_through_redis) {
    // Joining the consumer group takes the mock a few seconds: the ack may too.
    gateway_harness h(shared_server(), [](gateway::config& c) { c.ack_timeout = 30; });
    kafka::consumer consumer(h.ioc.get_executor(),
                             kafka::group_settings(*h.gw->embedded_kafka_bootstrap(), "workers"),
                             {"react_requests"});
    std::string seen;
    bool served = false;
    asio::co_spawn(h.ioc, serve_one_request(consumer, *h.publisher),
                   [&](std::exception_ptr e, std::string s) {
                       BOOST_TEST(!e);
                       seen = s;
                       served = true;
                   });
    std::string body =
        R"({"user_query": "What is the capital of France?", "model_alias": "smart_agent", "n": 1.50})";
    open_stream s = h.open_ok(body);
    auto all = events_only(h.read_all(*s.client, 60s));
    run_until(
        h.ioc, [&] { return served; }, 30s);
    BOOST_TEST(seen.substr(0, 33) == s.id + "|");
    auto record = boost::json::parse(seen.substr(33));
    BOOST_TEST(record.at("session_id").as_string() == s.id);
    BOOST_TEST(record.at("request") == boost::json::parse(body));
    BOOST_TEST(seen.find(body) != std::string::npos); // the body as received
    std::string text;
    for (auto& m : all) {
        auto v = boost::json::parse(m.data);
        if (v.at("event_type") == "AgentThoughtStream" || v.at("event_type") == "FinalAnswerStream")
            text += v.at("payload").at("char").as_string();
    }
    BOOST_TEST(all.size() == 6u);
    BOOST_TEST(text == "HiP");
    consumer.close();
}

// Opens a session and abandons it at a random point of its life.
coro::awaitable<void> abandon(gateway_harness& h, int where) {
    http_client c(h.ioc.get_executor());
    co_await c.connect(h.gw->local_endpoint());
    co_await c.send(post_request(R"({"user_query":"bye"})"));
    if (where == 0) { // before the gateway answers
        c.close();
        co_return;
    }
    http_head head = co_await c.read_head();
    std::string id = head.header("X-Session-Id").value_or("");
    if (where == 2 && !id.empty()) { // after the ack, mid-stream
        co_await h.publisher->async_publish("sse_session:" + id, event("worker_ack"));
        co_await h.publisher->async_publish("sse_session:" + id, event("AgentThoughtStream"));
        std::optional<sse::message> m = co_await c.next_message();
    }
    c.close();
}

BOOST_AUTO_TEST_CASE(thousands_of_abandoned_sessions_leave_nothing_behind) {
    gateway_harness h(shared_server(), [](gateway::config& c) { c.max_sessions = 100000; });
    std::mt19937 rng(42);
    constexpr int total = 3000;
    constexpr int concurrent = 300;
    int done = 0;
    int failed = 0;
    for (int started = 0; started < total;) {
        int batch = std::min(concurrent, total - started);
        for (int i = 0; i < batch; ++i, ++started)
            asio::co_spawn(h.ioc, abandon(h, static_cast<int>(rng() % 3)),
                           [&](std::exception_ptr e) {
                               ++done;
                               failed += e ? 1 : 0;
                           });
        run_until(
            h.ioc, [&] { return done == started; }, 60s);
    }
    BOOST_TEST(failed == 0);
    h.wait_idle();
    BOOST_TEST(h.gw->live_sessions() == 0u);
    BOOST_TEST(h.gw->subscriptions() == 0u);
    BOOST_TEST(eventually(h.ioc, [&] {
        redis::reply channels = run(h.ioc, h.publisher->async_exec(redis::make_command(
                                               {"PUBSUB", "CHANNELS", "sse_session:*"})));
        return channels.elements.empty();
    }));
    run_until(
        h.ioc,
        [&] {
            return h.gw->metrics_text().find("ssebridge_http_connections 0") != std::string::npos;
        },
        10s);
}
