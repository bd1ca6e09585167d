// ssebridge-gateway as operators start it (DESIGN.md §5): flags, environment,
// the lines it prints, and SIGTERM.
#define BOOST_TEST_MODULE gateway_process
#include <boost/test/unit_test.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/run.hpp"

#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/redis/client.hpp>

#include <boost/json/parse.hpp>

#include <csignal>
#include <thread>

using namespace ssebridge;
using namespace ssebridge::test;
using tcp = asio::ip::tcp;

namespace {

const std::string binary = SSEBRIDGE_GATEWAY_BINARY;

// "listening on 127.0.0.1:PORT" -> endpoint
tcp::endpoint endpoint_of(const std::string& line) {
    std::string hostport = line.substr(std::string("listening on ").size());
    auto colon = hostport.rfind(':');
    return {asio::ip::make_address(hostport.substr(0, colon)),
            static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)))};
}

} // namespace

BOOST_AUTO_TEST_CASE(help_documents_every_flag_and_exits_0) {
    child_process p({binary, "--help"});
    std::string first = p.wait_for_line("Usage:", 5s);
    BOOST_TEST(!first.empty());
    BOOST_TEST(p.wait(5s) == 0);
    std::string all;
    for (auto& l : p.lines())
        all += l + "\n";
    for (auto flag : {"--listen", "--redis", "--kafka-brokers", "--kafka-topic", "--ack-timeout",
                      "--keepalive", "SSEBRIDGE_LISTEN", "SSEBRIDGE_KEEPALIVE"})
        BOOST_TEST(all.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(bad_flags_exit_2) {
    child_process p({binary, "--keepalive", "never"});
    BOOST_TEST(p.wait(5s) == 2);
    child_process q({binary, "--listen", "nonsense"});
    BOOST_TEST(q.wait(10s) == 2);
}

BOOST_AUTO_TEST_CASE(starts_from_the_environment_serves_and_stops_on_sigterm) {
    redis_server redis;
    // Everything from environment variables; port 0 picks a free port.
    child_process gw({binary}, {"SSEBRIDGE_LISTEN=127.0.0.1:0", "SSEBRIDGE_REDIS=" + redis.url(),
                                "SSEBRIDGE_KAFKA_BROKERS=embedded", "SSEBRIDGE_KEEPALIVE=0.2",
                                "SSEBRIDGE_LOG_LEVEL=warn"});
    std::string bootstrap = gw.wait_for_line("kafka.bootstrap=", 10s);
    BOOST_TEST_REQUIRE(!bootstrap.empty());
    std::string listening = gw.wait_for_line("listening on ", 10s);
    BOOST_TEST_REQUIRE(!listening.empty());
    tcp::endpoint ep = endpoint_of(listening);

    asio::io_context ioc;
    // A worker joins the embedded Kafka through the printed bootstrap line.
    kafka::consumer consumer(ioc.get_executor(), kafka::group_settings(bootstrap.substr(16), "w"),
                             {"react_requests"});
    redis::client publisher(ioc.get_executor(), redis::config::from_url(redis.url()).value());
    run(ioc, publisher.async_connect());
    bool publisher_done = false;
    asio::co_spawn(ioc, publisher.async_run(),
                   [&](std::exception_ptr, boost::system::error_code) { publisher_done = true; });

    // Wait for the subscriber connection so the POST is not refused.
    run(ioc, wait_healthy(ep));

    http_client c(ioc.get_executor());
    run(ioc, c.connect(ep));
    run(ioc, c.send(post_request(R"({"user_query":"hi"})")));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST_REQUIRE(head.status == 200u);
    std::string id = head.header("X-Session-Id").value_or("");
    auto keepalive = run(ioc, c.next_message(), 5s); // SSEBRIDGE_KEEPALIVE=0.2 applies
    BOOST_TEST(keepalive->is_comment);

    kafka::record r = run(ioc, consumer.async_receive(), 30s);
    BOOST_TEST(r.key == id);
    BOOST_TEST(boost::json::parse(r.value).at("request").at("user_query").as_string() == "hi");
    run(ioc, publisher.async_publish("sse_session:" + id,
                                     R"({"event_type":"worker_ack","payload":{}})"));
    std::optional<sse::message> m;
    do
        m = run(ioc, c.next_message(), 10s);
    while (m && m->is_comment);
    BOOST_TEST(boost::json::parse(m->data).at("event_type").as_string() == "worker_ack");

    // SIGTERM: the open stream ends with an error event, the process exits 0.
    gw.signal(SIGTERM);
    std::vector<std::string> events;
    while ((m = run(ioc, c.next_message(), 10s)))
        if (!m->is_comment)
            events.push_back(m->data);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    auto v = boost::json::parse(events[0]);
    BOOST_TEST(v.at("event_type").as_string() == "error");
    BOOST_TEST(v.at("payload").at("error").as_string() == "server shutting down");
    BOOST_TEST(gw.wait(15s) == 0);

    consumer.close();
    publisher.close();
    run_until(
        ioc, [&] { return publisher_done; }, 5s);
}

// A drain must not wait on a client that stopped reading: its write is cut
// off by --write-timeout, the reading client gets its end, the process exits.
namespace {
// A gateway process with `flags` on a Redis of its own, ready, and a
// publisher on that Redis.
struct running_gateway {
    explicit running_gateway(const std::vector<std::string>& flags)
        : gw(argv(redis, flags))
        , ep(listening_on(gw))
        , publisher(ioc.get_executor(), redis::config::from_url(redis.url()).value()) {
        run(ioc, wait_healthy(ep));
        run(ioc, publisher.async_connect());
        asio::co_spawn(
            ioc, publisher.async_run(),
            [this](std::exception_ptr, boost::system::error_code) { publisher_done = true; });
    }
    ~running_gateway() {
        publisher.close();
        run_until(
            ioc, [this] { return publisher_done; }, 5s);
    }
    static std::vector<std::string> argv(const redis_server& redis,
                                         const std::vector<std::string>& flags) {
        std::vector<std::string> all{binary, "--listen", "127.0.0.1:0", "--redis", redis.url()};
        all.insert(all.end(), flags.begin(), flags.end());
        return all;
    }
    static tcp::endpoint listening_on(child_process& gw) {
        std::string line = gw.wait_for_line("listening on ", 10s);
        if (line.empty())
            throw std::runtime_error("the gateway did not start");
        return endpoint_of(line);
    }
    redis_server redis;
    child_process gw;
    tcp::endpoint ep;
    asio::io_context ioc;
    redis::client publisher;
    bool publisher_done = false;
};

struct write_timeout_of_a_second : running_gateway {
    write_timeout_of_a_second()
        : running_gateway({"--write-timeout", "1", "--log-level", "error"}) {}
};

struct three_shards : running_gateway {
    three_shards()
        : running_gateway({"--threads", "3", "--log-level", "warn"}) {}
};
} // namespace

BOOST_FIXTURE_TEST_CASE(a_drain_does_not_wait_for_a_stalled_client, write_timeout_of_a_second) {

    http_client stalled(ioc.get_executor()), reading(ioc.get_executor());
    std::vector<std::string> ids;
    for (http_client* c : {&stalled, &reading}) {
        run(ioc, c->connect(ep));
        run(ioc, c->send(post_request(R"({"user_query":"hi"})")));
        http_head head = run(ioc, c->read_head());
        BOOST_TEST_REQUIRE(head.status == 200u);
        ids.push_back(head.header("X-Session-Id").value_or(""));
        run(ioc, publisher.async_publish("sse_session:" + ids.back(),
                                         R"({"event_type":"worker_ack","payload":{}})"));
    }
    // More than the socket buffers hold, fewer events than --max-queue: the
    // gateway's write to `stalled` blocks.
    std::string big = R"({"event_type":"FinalAnswerStream","payload":{"text":")" +
                      std::string(100 * 1024, 'x') + R"("}})";
    for (int i = 0; i < 150; ++i)
        run(ioc, publisher.async_publish("sse_session:" + ids[0], big));
    run(ioc, sleep_for(300ms));

    auto stopped = std::chrono::steady_clock::now();
    gw.signal(SIGTERM);
    std::vector<std::string> events;
    while (auto m = run(ioc, reading.next_message(), 10s))
        if (!m->is_comment)
            events.push_back(m->data);
    BOOST_TEST_REQUIRE(!events.empty());
    BOOST_TEST(boost::json::parse(events.back()).at("payload").at("code").as_string() ==
               "shutting_down");
    BOOST_TEST(gw.wait(10s) == 0);
    BOOST_TEST((std::chrono::steady_clock::now() - stopped < 5s)); // about --write-timeout
}

// --threads: shards on one port; the kernel spreads the connections, every
// session works on whichever shard it lands, a token opens streams on any,
// /metrics sums the shards, SIGTERM drains them all.
BOOST_FIXTURE_TEST_CASE(shards_share_the_port_the_tokens_and_the_metrics, three_shards) {
    auto metric = [&](const std::string& name) -> std::string {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(ep));
        auto [head, body] = run(ioc, c.exchange("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"));
        std::string text = body;
        auto at = text.find("\n" + name + " ");
        return at == std::string::npos
                   ? ""
                   : text.substr(at + name.size() + 2,
                                 text.find('\n', at + 1) - at - name.size() - 2);
    };

    constexpr int sessions = 24;
    std::vector<std::unique_ptr<http_client>> clients;
    std::vector<std::string> ids, tokens;
    for (int i = 0; i < sessions; ++i) {
        clients.push_back(std::make_unique<http_client>(ioc.get_executor()));
        run(ioc, clients.back()->connect(ep));
        run(ioc, clients.back()->send(post_request(R"({"user_query":"hi"})")));
        http_head head = run(ioc, clients.back()->read_head());
        BOOST_TEST_REQUIRE(head.status == 200u);
        ids.push_back(head.header("X-Session-Id").value_or(""));
        tokens.push_back(head.header("X-Session-Token").value_or(""));
    }
    // Spread: with 24 connections on 3 shards, each shard has some (else 3 * (2/3)^24 ≈ 2e-4).
    {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(ep));
        auto [head, body] = run(ioc, c.exchange("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"));
        for (int shard = 0; shard < 3; ++shard) {
            std::string line =
                "ssebridge_shard_sessions_live{shard=\"" + std::to_string(shard) + "\"} ";
            auto at = body.find(line);
            BOOST_TEST_REQUIRE(at != std::string::npos);
            BOOST_TEST(std::stoi(body.substr(at + line.size())) > 0, line);
        }
    }
    BOOST_TEST(metric("ssebridge_sessions_live") == std::to_string(sessions));
    BOOST_TEST(metric("ssebridge_redis_connected") == "3");

    for (const auto& id : ids) {
        run(ioc, publisher.async_publish("sse_session:" + id,
                                         R"({"event_type":"worker_ack","payload":{}})"));
        run(ioc, publisher.async_publish("sse_session:" + id,
                                         R"({"event_type":"FinalAnswerStreamEnd","payload":{}})"));
    }
    for (auto& c : clients) {
        std::vector<std::string> types;
        while (auto m = run(ioc, c->next_message(), 10s))
            if (!m->is_comment)
                types.push_back(
                    std::string(boost::json::parse(m->data).at("event_type").as_string()));
        BOOST_TEST(types == (std::vector<std::string>{"worker_ack", "FinalAnswerStreamEnd"}),
                   boost::test_tools::per_element());
    }
    // (A stream is counted once its end is written: a moment after the client read it.)
    std::string completed;
    for (int i = 0; i < 100 && completed != std::to_string(sessions); ++i) {
        if (i > 0)
            std::this_thread::sleep_for(50ms);
        completed = metric("ssebridge_streams_ended_total{code=\"completed\"}");
    }
    BOOST_TEST(completed == std::to_string(sessions));
    // Histograms are summed over the shards too.
    BOOST_TEST(metric("ssebridge_session_setup_seconds_count") == std::to_string(sessions));
    BOOST_TEST(metric("ssebridge_ack_wait_seconds_count") == std::to_string(sessions));

    // Each token is good on every shard: a cancel from fresh connections,
    // wherever they land, is answered (202: no worker confirms), never 401.
    for (int i = 0; i < 6; ++i) {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(ep));
        auto [head, body] = run(ioc, c.exchange("POST /v1/react/sessions/" + ids[i] +
                                                "/cancel?wait=0 HTTP/1.1\r\nHost: t\r\n"
                                                "Content-Length: 0\r\nAuthorization: Bearer " +
                                                tokens[i] + "\r\n\r\n"));
        BOOST_TEST(head.status != 401u);
        BOOST_TEST(head.status < 500u);
    }

    gw.signal(SIGTERM);
    BOOST_TEST(gw.wait(15s) == 0);
}
