// ssebridge-worker, ssebridge-publish and ssebridge-bench as users run them, with the gateway.
#define BOOST_TEST_MODULE apps
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_sink.hpp"
#include "support/run.hpp"

#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

using namespace ssebridge;
using namespace ssebridge::test;
using tcp = asio::ip::tcp;

namespace {

// Starts the gateway binary; returns its endpoint and Kafka bootstrap.
struct gateway_process {
    gateway_process(const redis_server& redis, std::vector<std::string> extra = {})
        : gateway_process(std::vector<std::string>{"--redis", redis.url()}, std::move(extra)) {}
    gateway_process(const redis_cluster& cluster, std::vector<std::string> extra = {})
        : gateway_process(std::vector<std::string>{"--redis-cluster", cluster.seeds()},
                          std::move(extra)) {}
    gateway_process(std::vector<std::string> redis, std::vector<std::string> extra) {
        std::vector<std::string> argv{SSEBRIDGE_GATEWAY_BINARY, "--listen", "127.0.0.1:0",
                                      "--log-level", "warn"};
        argv.insert(argv.end(), redis.begin(), redis.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<child_process>(argv);
        bootstrap = process->wait_for_line("kafka.bootstrap=", 10s).substr(16);
        std::string line = process->wait_for_line("listening on ", 10s);
        auto colon = line.rfind(':');
        endpoint = {asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(std::stoi(line.substr(colon + 1)))};
    }
    std::unique_ptr<child_process> process;
    std::string bootstrap;
    tcp::endpoint endpoint;
};

// Opens a session once the gateway's Redis subscriber is up.
http_head open_session(asio::io_context& ioc, http_client& c, tcp::endpoint ep, std::string body) {
    run(ioc, wait_healthy(ep));
    run(ioc, c.connect(ep));
    run(ioc, c.send(post_request(body)));
    return run(ioc, c.read_head());
}

std::vector<boost::json::value> read_events(asio::io_context& ioc, http_client& c) {
    std::vector<boost::json::value> events;
    while (auto m = run(ioc, c.next_message(), 60s))
        if (!m->is_comment)
            events.push_back(boost::json::parse(m->data));
    return events;
}

std::string type_of(const boost::json::value& e) {
    return std::string(e.at("event_type").as_string());
}

// One client's view of a session that it follows to its end, resuming
// (GET …/events with Last-Event-ID) whenever its stream ends with a
// retryable error, as EventSource does.
struct followed_session {
    std::string id, token;
    std::vector<boost::json::value> events; ///< every event shown, in order
    int resumes = 0;
    std::vector<std::string> interruptions; ///< codes of the retryable errors
    std::optional<std::chrono::steady_clock::time_point> first_resumed;
    std::string last_refusal; ///< why the last resume attempt failed

    [[nodiscard]] std::string text(std::string_view type) const {
        std::string out;
        for (const auto& e : events)
            if (type_of(e) == type)
                out += e.at("payload").at("char").as_string();
        return out;
    }
    [[nodiscard]] std::string last_id() const {
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->as_object().contains("id"))
                return std::string(it->at("id").as_string());
        return "";
    }
    [[nodiscard]] std::string end() const { return events.empty() ? "" : type_of(events.back()); }
};

// Reads `c` to its end into `s`; true when it ended with a retryable error
// (which is not kept among the events: the client resumes past it).
bool read_until_interrupted(asio::io_context& ioc, http_client& c, followed_session& s) {
    for (auto& e : read_events(ioc, c)) {
        if (type_of(e) == "error" && e.at("payload").at("retryable").as_bool()) {
            s.interruptions.emplace_back(e.at("payload").at("code").as_string());
            return true;
        }
        if (type_of(e) == "reset") { // the log lost our place: shown afresh, as the page does
            s.events.clear();
            continue;
        }
        s.events.push_back(std::move(e));
    }
    return false;
}

// Follows `s` through resumes on `ep` until its stream ends for good.
void follow_to_the_end(asio::io_context& ioc, tcp::endpoint ep, followed_session& s,
                       std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
        http_client c(ioc.get_executor());
        try {
            run(ioc, c.connect(ep));
            run(ioc, c.send("GET /v1/react/sessions/" + s.id +
                            "/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + s.token +
                            "\r\nLast-Event-ID: " + s.last_id() + "\r\n\r\n"));
            http_head head = run(ioc, c.read_head());
            if (head.status != 200u)
                throw std::runtime_error("status " + std::to_string(head.status));
        } catch (
            const std::exception& e) { // not yet (no Redis for its slot): like EventSource, again
            s.last_refusal = e.what();
            std::this_thread::sleep_for(200ms);
            continue;
        }
        ++s.resumes;
        if (!s.first_resumed)
            s.first_resumed = std::chrono::steady_clock::now();
        if (!read_until_interrupted(ioc, c, s))
            return;
    }
}

// Opens `n` sessions on `ep`, each on its own client (kept in `clients`).
std::vector<followed_session> open_sessions(asio::io_context& ioc, tcp::endpoint ep, int n,
                                            std::vector<std::unique_ptr<http_client>>& clients) {
    std::vector<followed_session> followed(n);
    for (auto& f : followed) {
        clients.push_back(std::make_unique<http_client>(ioc.get_executor()));
        http_head head = open_session(ioc, *clients.back(), ep, R"({"user_query":"q"})");
        BOOST_TEST_REQUIRE(head.status == 200u);
        f.id = head.header("X-Session-Id").value_or("");
        f.token = head.header("X-Session-Token").value_or("");
    }
    return followed;
}

// Event ids strictly increase: nothing shown twice.
bool ids_increase(const followed_session& s) {
    std::optional<wire::entry_id> last;
    for (const auto& e : s.events) {
        if (!e.as_object().contains("id"))
            continue;
        auto id = wire::entry_id::parse(e.at("id").as_string());
        if (!id || (last && *id <= *last))
            return false;
        last = id;
    }
    return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(publish_cli_publishes_and_refuses_bad_input) {
    redis_server redis;
    asio::io_context ioc;
    redis::subscriber sub(ioc.get_executor(), redis::config::from_url(redis.url()).value());
    asio::co_spawn(ioc, sub.async_run(), asio::detached);
    run(ioc, sub.async_wait_connected());
    recording_sink sink;
    auto s = run(ioc, subscribe(sub, "sse_session:abc", sink));

    child_process ok({SSEBRIDGE_PUBLISH_BINARY, "--redis", redis.url(), "abc", "FinalAnswerStream",
                      R"({"char": "é"})"});
    BOOST_TEST(ok.wait_for_line("1", 10s) == "1"); // one subscriber received it
    std::string id = ok.wait_for_line("id=", 10s).substr(3);
    BOOST_TEST(ok.wait(10s) == 0);
    run_until(
        ioc, [&] { return sink.messages.size() == 1; }, 5s);
    BOOST_TEST(sink.messages[0] ==
               "{\"id\":\"" + id + R"(","event_type":"FinalAnswerStream","payload":{"char":"é"}})");

    child_process bad_json({SSEBRIDGE_PUBLISH_BINARY, "--redis", redis.url(), "abc", "x", "{oops"});
    BOOST_TEST(bad_json.wait(10s) == 2);
    child_process missing({SSEBRIDGE_PUBLISH_BINARY, "abc"});
    BOOST_TEST(missing.wait(10s) == 2);
    child_process bad_url({SSEBRIDGE_PUBLISH_BINARY, "--redis", "http://x", "abc", "y"});
    BOOST_TEST(bad_url.wait(10s) == 2);
    child_process nobody({SSEBRIDGE_PUBLISH_BINARY, "--redis",
                          "redis://127.0.0.1:" + std::to_string(free_port()), "abc", "y"});
    BOOST_TEST(nobody.wait(10s) == 1);
}

BOOST_AUTO_TEST_CASE(worker_refuses_to_start_without_brokers) {
    child_process none({SSEBRIDGE_WORKER_BINARY});
    BOOST_TEST(none.wait(10s) == 2);
    child_process embedded({SSEBRIDGE_WORKER_BINARY, "--kafka-brokers", "embedded"});
    BOOST_TEST(embedded.wait(10s) == 2);
    child_process help({SSEBRIDGE_WORKER_BINARY, "--help"});
    BOOST_TEST(!help.wait_for_line("Usage:", 10s).empty());
    BOOST_TEST(help.wait(10s) == 0);
}

BOOST_AUTO_TEST_CASE(the_reference_worker_plays_the_agent_through_the_gateway) {
    redis_server redis;
    gateway_process gw(redis, {"--ack-timeout", "30"});
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis", redis.url(), "--kafka-brokers",
                          gw.bootstrap, "--delay", "0.001", "--thought", "Hmm…", "--tool", "search",
                          "--answer", "Q: {query}", "--log-level", "warn"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());

    asio::io_context ioc;
    http_client c(ioc.get_executor());
    http_head head = open_session(ioc, c, gw.endpoint, R"({"user_query":"Paris?"})");
    BOOST_TEST_REQUIRE(head.status == 200u);
    auto events = read_events(ioc, c);
    BOOST_TEST_REQUIRE(events.size() >= 3u);
    BOOST_TEST(events.front().at("event_type").as_string() == "worker_ack");
    BOOST_TEST(events.back().at("event_type").as_string() == "FinalAnswerStreamEnd");
    std::string thought, answer, tool;
    for (auto& e : events) {
        auto type = e.at("event_type").as_string();
        if (type == "AgentThoughtStream")
            thought += e.at("payload").at("char").as_string();
        else if (type == "FinalAnswerStream")
            answer += e.at("payload").at("char").as_string();
        else if (type == "AgentToolCallStart")
            tool = e.at("payload").at("tool_name").as_string();
    }
    BOOST_TEST(thought == "Hmm…"); // streamed by character, not by byte
    BOOST_TEST(tool == "search");
    BOOST_TEST(answer == "Q: Paris?");
    worker.signal(SIGTERM);
    BOOST_TEST(worker.wait(15s) == 0);
}

BOOST_AUTO_TEST_CASE(a_worker_dying_mid_answer_leaves_the_client_an_error_not_a_hang) {
    redis_server redis;
    gateway_process gw(redis, {"--ack-timeout", "30", "--idle-timeout", "1"});
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis", redis.url(), "--kafka-brokers",
                          gw.bootstrap, "--delay", "0.2", "--thought", "a long slow thought",
                          "--log-level", "warn"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());
    asio::io_context ioc;
    http_client c(ioc.get_executor());
    http_head head = open_session(ioc, c, gw.endpoint, R"({"user_query":"x"})");
    BOOST_TEST_REQUIRE(head.status == 200u);
    std::optional<sse::message> m;
    do
        m = run(ioc, c.next_message(), 60s);
    while (m && m->is_comment);
    BOOST_TEST_REQUIRE(m.has_value()); // the ack: the worker is mid-answer now
    worker.signal(SIGKILL);
    auto rest = read_events(ioc, c);
    BOOST_TEST_REQUIRE(!rest.empty());
    BOOST_TEST(rest.back().at("event_type").as_string() == "error");
}

namespace {
boost::json::object read_json(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return boost::json::parse(text.str()).as_object();
}
} // namespace

BOOST_AUTO_TEST_CASE(the_bench_counts_every_event_and_every_session) {
    redis_server redis;
    gateway_process gw(redis);
    std::string gateway = "127.0.0.1:" + std::to_string(gw.endpoint.port());
    std::string out = redis.dir() + "/bench.json";

    child_process throughput({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                              "--scenario", "throughput", "--sessions", "20", "--events", "50",
                              "--json", out});
    BOOST_TEST_REQUIRE(throughput.wait(60s) == 0);
    auto r = read_json(out);
    BOOST_TEST(r.at("delivered").to_number<std::int64_t>() == 1000);
    BOOST_TEST(r.at("expected").to_number<std::int64_t>() == 1000);
    BOOST_TEST(r.at("latency_us").at("max").to_number<std::int64_t>() > 0);

    // The contract's floor: XADD + PUBLISH pipelined; every event delivered, each logged.
    child_process pair({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                        "--scenario", "throughput", "--sessions", "20", "--events", "50",
                        "--publish", "pair", "--json", out});
    BOOST_TEST_REQUIRE(pair.wait(60s) == 0);
    BOOST_TEST(read_json(out).at("delivered").to_number<std::int64_t>() == 1000);

    // The same through the AI SDK profile: every text-delta counted and timed.
    child_process profile({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                           "--scenario", "throughput", "--sessions", "20", "--events", "50",
                           "--profile", "ai-sdk", "--json", out});
    BOOST_TEST_REQUIRE(profile.wait(60s) == 0);
    r = read_json(out);
    BOOST_TEST(r.at("delivered").to_number<std::int64_t>() == 1000);
    BOOST_TEST(r.at("profile").as_string() == "ai-sdk");
    BOOST_TEST(r.at("latency_us").at("max").to_number<std::int64_t>() > 0);

    // Setup through the real Kafka path, acknowledged by the bench's own worker.
    child_process setup({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                         "--scenario", "setup", "--sessions", "40", "--concurrency", "4",
                         "--kafka-brokers", gw.bootstrap, "--json", out});
    BOOST_TEST_REQUIRE(setup.wait(90s) == 0);
    r = read_json(out);
    BOOST_TEST(r.at("delivered").to_number<std::int64_t>() == 40);
    BOOST_TEST(r.at("sessions_per_second").to_number<double>() > 0);

    // Resume: every event once, though a quarter of the streams were cut, and
    // one Kafka record a session, by GET …/events and by the POST again.
    for (std::string with : {"get", "post"}) {
        child_process resume({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                              "--scenario", "resume", "--sessions", "20", "--events", "50",
                              "--cut-share", "0.25", "--resume-with", with, "--json", out});
        BOOST_TEST_REQUIRE(resume.wait(60s) == 0, with);
        r = read_json(out);
        BOOST_TEST(r.at("delivered").to_number<std::int64_t>() == 1000, with);
        BOOST_TEST(r.at("resume").at("with").as_string() == with);
        BOOST_TEST(r.at("resume").at("cut").to_number<std::int64_t>() == 5, with);
        BOOST_TEST(r.at("resume").at("lost").to_number<std::int64_t>() == 0, with);
        BOOST_TEST(r.at("resume").at("duplicated").to_number<std::int64_t>() == 0, with);
        BOOST_TEST(r.at("resume").at("kafka_records").to_number<std::int64_t>() == 20, with);
    }

    // Cancel: sessions stopped mid-answer by a worker of the worker library.
    child_process cancel({SSEBRIDGE_BENCH_BINARY, "--redis", redis.url(), "--gateway", gateway,
                          "--scenario", "cancel", "--sessions", "10", "--concurrency", "5",
                          "--kafka-brokers", gw.bootstrap, "--json", out});
    BOOST_TEST_REQUIRE(cancel.wait(90s) == 0);
    r = read_json(out);
    BOOST_TEST(r.at("cancel").at("confirmed").to_number<std::int64_t>() == 10);
    BOOST_TEST(r.at("cancel").at("events_after_cancelled").to_number<std::int64_t>() == 0);
    BOOST_TEST(r.at("cancel").at("stop_p99_us").to_number<std::int64_t>() > 0);

    // Bad input is refused with a reason and exit status 2.
    child_process bad_mode({SSEBRIDGE_BENCH_BINARY, "--publish", "loudly"});
    BOOST_TEST(bad_mode.wait(10s) == 2);
    child_process no_rate({SSEBRIDGE_BENCH_BINARY, "--scenario", "latency"});
    BOOST_TEST(no_rate.wait(10s) == 2);
    child_process no_urls({SSEBRIDGE_BENCH_BINARY, "--target", "sse"});
    BOOST_TEST(no_urls.wait(10s) == 2);
    child_process no_such({SSEBRIDGE_BENCH_BINARY, "--scenario", "sprint"});
    BOOST_TEST(no_such.wait(10s) == 2);
    child_process no_way_back({SSEBRIDGE_BENCH_BINARY, "--resume-with", "pigeon"});
    BOOST_TEST(no_way_back.wait(10s) == 2);
    child_process no_profile({SSEBRIDGE_BENCH_BINARY, "--profile", "grpc"});
    BOOST_TEST(no_profile.wait(10s) == 2);
    child_process profile_setup(
        {SSEBRIDGE_BENCH_BINARY, "--profile", "ai-sdk", "--scenario", "setup"});
    BOOST_TEST(profile_setup.wait(10s) == 2);
    child_process help({SSEBRIDGE_BENCH_BINARY, "--help"});
    BOOST_TEST(help.wait(10s) == 0);
    BOOST_TEST(!help.wait_for_line("Usage: ssebridge-bench", 1s).empty());
}

BOOST_AUTO_TEST_CASE(a_drained_gateways_reader_resumes_on_another_without_loss) {
    redis_server redis;
    std::vector<std::string> shared{"--token-secret", "one secret for the deployment",
                                    "--ack-timeout", "30"};
    gateway_process a(redis, shared);
    gateway_process b(redis, shared);
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis", redis.url(), "--kafka-brokers",
                          a.bootstrap, "--delay", "0.03", "--thought", "Thinking it over.",
                          "--answer", "The answer goes on after the drain.", "--log-level",
                          "error"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());

    asio::io_context ioc;
    http_client c(ioc.get_executor());
    http_head head = open_session(ioc, c, a.endpoint, R"({"user_query":"q"})");
    BOOST_TEST_REQUIRE(head.status == 200u);
    std::string id = head.header("X-Session-Id").value_or("");
    std::string token = head.header("X-Session-Token").value_or("");
    std::vector<boost::json::value> events;
    while (events.size() < 6) {
        auto m = run(ioc, c.next_message(), 30s);
        BOOST_TEST_REQUIRE(m.has_value());
        if (!m->is_comment)
            events.push_back(boost::json::parse(m->data));
    }
    a.process->signal(SIGTERM); // a deploy drains gateway a
    auto rest = read_events(ioc, c);
    BOOST_TEST_REQUIRE(!rest.empty());
    const auto& drained = rest.back().at("payload");
    BOOST_TEST(drained.at("code").as_string() == "shutting_down");
    BOOST_TEST(drained.at("retryable").as_bool());
    rest.pop_back();
    events.insert(events.end(), rest.begin(), rest.end());
    BOOST_TEST(a.process->wait(15s) == 0);

    // The client comes back on gateway b with its last id.
    std::string last(events.back().at("id").as_string());
    http_client again(ioc.get_executor());
    run(ioc, again.connect(b.endpoint));
    run(ioc, again.send("GET /v1/react/sessions/" + id +
                        "/events HTTP/1.1\r\nHost: b\r\n"
                        "Authorization: Bearer " +
                        token + "\r\nLast-Event-ID: " + last + "\r\n\r\n"));
    BOOST_TEST_REQUIRE(run(ioc, again.read_head()).status == 200u);
    auto resumed = read_events(ioc, again);
    events.insert(events.end(), resumed.begin(), resumed.end());
    std::string thought, answer, previous;
    for (auto& e : events) {
        std::string event_id(e.at("id").as_string());
        BOOST_TEST(
            (previous.empty() || wire::entry_id::parse(previous) < wire::entry_id::parse(event_id)),
            event_id); // in order, nothing twice
        previous = event_id;
        auto type = e.at("event_type").as_string();
        if (type == "AgentThoughtStream")
            thought += e.at("payload").at("char").as_string();
        else if (type == "FinalAnswerStream")
            answer += e.at("payload").at("char").as_string();
    }
    BOOST_TEST(thought == "Thinking it over.");
    BOOST_TEST(answer == "The answer goes on after the drain.");
    BOOST_TEST(events.back().at("event_type").as_string() == "FinalAnswerStreamEnd");
}

// A restart (connections reset) and a hang (SIGSTOP: connections stay up,
// nothing answers; each side notices by its --redis-timeout).
BOOST_DATA_TEST_CASE(the_reference_worker_comes_back_after_redis_fails,
                     boost::unit_test::data::make({"restart", "hang"}), fault) {
    redis_server redis;
    gateway_process gw(redis, {"--ack-timeout", "2", "--redis-timeout", "0.5"});
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis", redis.url(), "--kafka-brokers",
                          gw.bootstrap, "--delay", "0.001", "--answer", "back", "--log-level",
                          "error", "--redis-timeout", "0.5"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());
    if (std::string_view(fault) == "restart") {
        redis.stop();
        redis.start();
    } else {
        redis.pause();
        std::this_thread::sleep_for(2s); // both drop their connections and retry meanwhile
        redis.resume();
    }
    // The gateway, then the worker, reconnect with backoff: some session soon
    // goes through again, without restarting anything.
    asio::io_context ioc;
    bool answered = false;
    auto deadline = std::chrono::steady_clock::now() + 40s;
    while (!answered && std::chrono::steady_clock::now() < deadline) {
        http_client c(ioc.get_executor());
        http_head head = open_session(ioc, c, gw.endpoint, R"({"user_query":"q"})");
        if (head.status != 200u)
            continue;
        auto events = read_events(ioc, c);
        answered =
            !events.empty() && events.back().at("event_type").as_string() == "FinalAnswerStreamEnd";
    }
    BOOST_TEST(answered);
}

// --redis-cluster on the gateway, the worker and ssebridge-publish: sessions
// spread over every master with sharded Pub/Sub, each answer complete, the
// log replayed from the cluster.
BOOST_AUTO_TEST_CASE(gateway_and_worker_run_on_a_redis_cluster) {
    redis_cluster cluster(3, 0);
    gateway_process gw(cluster, {"--token-secret", "cluster secret", "--ack-timeout", "20",
                                 "--redis-timeout", "1"});
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis-cluster", cluster.seeds(),
                          "--kafka-brokers", gw.bootstrap, "--delay", "0.02", "--max-in-flight",
                          "64", "--answer", "Answered on the cluster.", "--log-level", "error"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());

    asio::io_context ioc;
    constexpr int sessions = 24;
    std::vector<std::unique_ptr<http_client>> clients;
    // Each session's channel is subscribed on the master of its slot; all
    // three carry some. Checked as each opens: its answer takes the worker
    // about a second, and a finished session is unsubscribed.
    std::vector<followed_session> followed;
    std::set<std::uint16_t> masters;
    for (int i = 0; i < sessions; ++i) {
        const followed_session& f =
            followed.emplace_back(std::move(open_sessions(ioc, gw.endpoint, 1, clients).front()));
        std::string channel = wire::session_channel(f.id);
        std::uint16_t master = cluster.master_of(redis::key_slot(channel));
        auto numsub = redis_cli(master, {"PUBSUB", "SHARDNUMSUB", channel});
        BOOST_TEST((numsub.size() == 2 && numsub[1] == "1"), channel);
        masters.insert(master);
    }
    BOOST_TEST(masters.size() == 3u);
    for (int i = 0; i < sessions; ++i) {
        BOOST_TEST(!read_until_interrupted(ioc, *clients[i], followed[i]));
        BOOST_TEST(followed[i].end() == "FinalAnswerStreamEnd");
        BOOST_TEST(followed[i].text("FinalAnswerStream") == "Answered on the cluster.");
        BOOST_TEST(ids_increase(followed[i]));
    }
    // The whole log, replayed from the cluster by a late reader.
    followed_session late{followed[0].id, followed[0].token, {}, 0, {}, {}, {}};
    follow_to_the_end(ioc, gw.endpoint, late, std::chrono::steady_clock::now() + 20s);
    BOOST_TEST(late.text("FinalAnswerStream") == "Answered on the cluster.");
    BOOST_TEST(late.end() == "FinalAnswerStreamEnd");

    child_process publish({SSEBRIDGE_PUBLISH_BINARY, "--redis-cluster", cluster.seeds(),
                           wire::make_session_id(), "worker_ack"});
    BOOST_TEST(publish.wait_for_line("id=", 10s).size() > 3u); // recorded on the cluster
    BOOST_TEST(publish.wait(10s) == 0);

    // Readiness probes every master: Pub/Sub blocked on one of them (its
    // connections still answer PING) takes the gateway out, and back.
    auto readyz = [&] {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(gw.endpoint));
        return run(ioc, c.exchange("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")).first.status;
    };
    BOOST_TEST(readyz() == 200u);
    std::uint16_t paused = cluster.masters().back();
    redis_cli(paused, {"CLIENT", "PAUSE", "2500", "WRITE"});
    auto blocked = std::chrono::steady_clock::now();
    unsigned status = 200;
    while (status == 200u && std::chrono::steady_clock::now() - blocked < 2400ms) {
        std::this_thread::sleep_for(100ms);
        status = readyz();
    }
    BOOST_TEST(status == 503u);
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
        std::this_thread::sleep_for(100ms);
        back = readyz() == 200u;
    }
    BOOST_TEST(back);
}

// A master dies mid-stream (its replica takes over): the sessions on it end
// with a retryable backend_lost and resume; none hangs, none shows an event
// twice. A slot moved mid-stream likewise loses nothing.
BOOST_AUTO_TEST_CASE(a_cluster_failover_or_slot_migration_mid_stream_hangs_no_session) {
    redis_cluster cluster(3, 1);
    gateway_process gw(cluster, {"--token-secret", "cluster secret", "--ack-timeout", "20",
                                 "--idle-timeout", "8", "--redis-timeout", "1"});
    // About six seconds of answer: longer than a slot migration takes on a
    // loaded machine, so that the faults come while it streams.
    const std::string answer = "A long answer that is still streaming when its master dies, "
                               "and goes on after the failover until every word is shown.";
    child_process worker({SSEBRIDGE_WORKER_BINARY, "--redis-cluster", cluster.seeds(),
                          "--kafka-brokers", gw.bootstrap, "--delay", "0.05", "--max-in-flight",
                          "64", "--answer", answer, "--log-level", "error", "--redis-timeout",
                          "1"});
    BOOST_TEST_REQUIRE(!worker.wait_for_line("worker ready", 10s).empty());

    asio::io_context ioc;
    constexpr int sessions = 12;
    std::vector<std::unique_ptr<http_client>> clients;
    std::vector<followed_session> followed = open_sessions(ioc, gw.endpoint, sessions, clients);
    // Session 0's master dies; the slot of the first session on another
    // master moves to the third one just before.
    auto master_of = [&](const followed_session& f) {
        return cluster.master_of(redis::key_slot(wire::session_channel(f.id)));
    };
    std::uint16_t victim = master_of(followed[0]);
    auto moving = std::find_if(followed.begin(), followed.end(),
                               [&](const followed_session& f) { return master_of(f) != victim; });
    BOOST_TEST_REQUIRE((moving != followed.end()));
    std::uint16_t moved_from = master_of(*moving);
    std::uint16_t moved_to = 0;
    for (auto port : cluster.masters())
        if (port != moved_from && port != victim)
            moved_to = port;
    // Mid-answer: the two sessions the faults hit are streaming (their logs
    // hold the ack and a few characters; the answer takes seconds more).
    auto logged = [&](const followed_session& f) {
        std::vector<std::string> r = redis_cli(master_of(f), {"XLEN", wire::log_key(f.id)});
        return r.empty() ? 0 : std::stoi(r[0]);
    };
    auto under_way = std::chrono::steady_clock::now() + 10s;
    while ((logged(followed[0]) < 5 || logged(*moving) < 5) &&
           std::chrono::steady_clock::now() < under_way)
        std::this_thread::sleep_for(20ms);
    BOOST_TEST_REQUIRE(logged(followed[0]) >= 5);
    BOOST_TEST_REQUIRE(logged(*moving) >= 5);
    cluster.migrate_slot(redis::key_slot(wire::session_channel(moving->id)), moved_to);
    auto killed = std::chrono::steady_clock::now();
    cluster.kill(victim);

    auto deadline = std::chrono::steady_clock::now() + 60s;
    int interrupted = 0, completed = 0;
    std::optional<std::chrono::steady_clock::duration> recovery;
    for (int i = 0; i < sessions; ++i) {
        followed_session& f = followed[i];
        if (read_until_interrupted(ioc, *clients[i], f)) {
            ++interrupted;
            follow_to_the_end(ioc, gw.endpoint, f, deadline);
            BOOST_TEST(f.resumes >= 1, f.id);
            if (f.first_resumed && (!recovery || *f.first_resumed - killed < *recovery))
                recovery = *f.first_resumed - killed;
        }
        // None hangs: each ends for good, completed or with an error event.
        std::string seen = f.id + ": " + std::to_string(f.events.size()) + " events, " +
                           std::to_string(f.resumes) + " resumes, interrupted by";
        for (const auto& code : f.interruptions)
            seen += " " + code;
        seen += "; last refusal: " + f.last_refusal;
        BOOST_TEST((f.end() == "FinalAnswerStreamEnd" || f.end() == "error"), seen);
        BOOST_TEST(ids_increase(f), f.id);
        for (const auto& code : f.interruptions)
            BOOST_TEST((code == "backend_lost" || code == "shutting_down"), code);
        if (f.end() == "FinalAnswerStreamEnd") {
            ++completed;
            BOOST_TEST(f.text("FinalAnswerStream") == answer, f.id); // nothing lost
        } else {
            std::cout << "ended: " << seen << "; "
                      << boost::json::serialize(f.events.back().at("payload")) << "\n";
        }
    }
    BOOST_TEST(interrupted >= 2); // session 0's master died, the moved session's slot went
    BOOST_TEST(!followed[0].interruptions.empty());
    BOOST_TEST(!moving->interruptions.empty());
    BOOST_TEST((std::chrono::steady_clock::now() < deadline));
    std::cout << "cluster failover mid-stream: " << interrupted << " of " << sessions
              << " streams interrupted, " << completed << " completed"
              << (recovery
                      ? ", first resume " +
                            std::to_string(
                                std::chrono::duration_cast<std::chrono::milliseconds>(*recovery)
                                    .count()) +
                            " ms after the kill"
                      : std::string())
              << "\n";
}
