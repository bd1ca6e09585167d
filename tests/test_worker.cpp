// The worker library: publish_event and the consumer loop.
#include <ssebridge/worker/publish.hpp>
#include <ssebridge/worker/requests.hpp>

#define BOOST_TEST_MODULE worker
#include <boost/test/unit_test.hpp>

#include "support/burst.hpp"
#include "support/process.hpp"
#include "support/redis_sink.hpp"
#include "support/run.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/kafka/mock_cluster.hpp>
#include <ssebridge/kafka/producer.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/subscriber.hpp>

#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>

#include <ssebridge/wire/request.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/data/test_case.hpp>

#include <boost/system/system_error.hpp>
#include <set>

using namespace ssebridge;
using namespace ssebridge::test;

namespace {
// A connected client with its reader running, and the same server's subscriber.
redis::reply exec_on(asio::io_context& ioc, redis::client& client,
                     const std::vector<std::string>& args) {
    std::string cmd;
    redis::append_command(cmd, std::vector<std::string_view>(args.begin(), args.end()));
    return run(ioc, client.async_exec(std::move(cmd)));
}

struct redis_fixture {
    redis_server redis;
    asio::io_context ioc;
    redis::config cfg = config();
    redis::client client{ioc.get_executor(), cfg};
    redis::subscriber sub{ioc.get_executor(), cfg};
    bool client_done = false;

    redis_fixture() {
        run(ioc, client.async_connect());
        asio::co_spawn(
            ioc, client.async_run(),
            [this](std::exception_ptr, boost::system::error_code) { client_done = true; });
        asio::co_spawn(ioc, sub.async_run(), asio::detached);
        run(ioc, sub.async_wait_connected());
    }
    ~redis_fixture() {
        client.close();
        run_until(
            ioc, [this] { return client_done; }, 5s);
    }
    redis::config config() const { return redis::config::from_url(redis.url()).value(); }
    redis::reply exec(std::vector<std::string> args) { return exec_on(ioc, client, args); }
};

coro::awaitable<worker::published> publish(redis::client& c, std::string id, std::string type,
                                           std::string payload, worker::recording log = {}) {
    co_return co_await worker::publish_event(c, id, type, payload, log);
}

/// The ids a reader that keeps the gateway's rule delivers of `messages`:
/// an id not after the last one is dropped (a refused event's message, a
/// repeat), and nothing after the end.
std::vector<std::string> delivered_ids(const std::vector<std::string>& messages) {
    std::vector<std::string> ids;
    std::optional<wire::entry_id> last;
    for (const std::string& m : messages) {
        auto info = wire::inspect_event(m);
        BOOST_TEST_REQUIRE((info && info->id));
        if (last && *info->id <= *last)
            continue;
        last = info->id;
        ids.push_back(info->id->to_string());
        if (wire::ends_session(*info))
            break;
    }
    return ids;
}
} // namespace

BOOST_FIXTURE_TEST_CASE(publish_event_records_then_publishes_with_the_id, redis_fixture) {
    recording_sink sink;
    auto subscription = run(ioc, subscribe(sub, wire::session_channel("s1"), sink));
    std::vector<worker::published> sent;
    for (auto type : {"worker_ack", "FinalAnswerStream", "FinalAnswerStreamEnd"})
        sent.push_back(run(ioc, publish(client, "s1", type, R"({"char": "é"})")));
    for (auto& p : sent)
        BOOST_TEST(p.receivers == 1);
    run_until(
        ioc, [&] { return sink.messages.size() == 3; }, 5s);
    BOOST_TEST_REQUIRE(sink.messages.size() == 3u);

    // The log holds each event under the id the live message carries.
    redis::reply log = exec({"XRANGE", wire::log_key("s1"), "-", "+"});
    BOOST_TEST_REQUIRE(log.elements.size() == 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const redis::reply& entry = log.elements[i];
        BOOST_TEST(entry.elements[0].value == sent[i].id);
        BOOST_TEST(entry.elements[1].elements[0].value == wire::log_message_field);
        const std::string& message = entry.elements[1].elements[1].value;
        BOOST_TEST(sink.messages[i] == wire::recorded_message(sent[i].id, message));
        auto v = boost::json::parse(sink.messages[i]).as_object();
        BOOST_TEST(v.begin()->key() == "id"); // first, before event_type
        BOOST_TEST(v.at("payload").at("char").as_string() == "é");
    }
    BOOST_TEST((wire::inspect_event(sink.messages[2])->kind == wire::event_kind::final));
    // Ids increase; the terminal one is the last a stream can hold.
    BOOST_TEST(
        (wire::entry_id::parse(sent[0].id).value() < wire::entry_id::parse(sent[1].id).value()));
    BOOST_TEST(sent[2].id == wire::sealing_id.to_string());
    // It expires a while after its last write.
    std::int64_t ttl = exec({"TTL", wire::log_key("s1")}).integer;
    BOOST_TEST(ttl > 3500);
    BOOST_TEST(ttl <= 3600);
}

BOOST_FIXTURE_TEST_CASE(the_log_is_bounded_and_its_lifetime_configurable, redis_fixture) {
    worker::session_writer events(client, "s2", {10, 7s});
    for (int i = 0; i < 1000; ++i)
        run(ioc, events.publish("e"));
    std::int64_t len = exec({"XLEN", wire::log_key("s2")}).integer;
    BOOST_TEST(len >= 10);
    BOOST_TEST(len < 200); // MAXLEN ~ trims whole nodes: about, never unbounded
    // Refreshed once a second here (ttl / 8, at least 1 s), with that much to spare.
    std::int64_t ttl = exec({"TTL", wire::log_key("s2")}).integer;
    BOOST_TEST(ttl > 6);
    BOOST_TEST(ttl <= 8);
    run(ioc, events.publish(wire::event_type::final_answer_end));
    BOOST_TEST(exec({"TTL", wire::log_key("s2")}).integer <= 7); // from the end: ttl exactly
}

namespace {
template <class Awaitable>
wire::error failure_of(asio::io_context& ioc, Awaitable op) {
    try {
        run(ioc, std::move(op));
    } catch (const boost::system::system_error& e) {
        if (e.code().category() == wire::category())
            return static_cast<wire::error>(e.code().value());
        throw;
    }
    BOOST_FAIL("it was recorded");
    return {};
}

std::vector<std::string> logged_ids(redis_fixture& f, const std::string& id) {
    std::vector<std::string> ids;
    for (auto& entry : f.exec({"XRANGE", wire::log_key(id), "-", "+"}).elements)
        ids.push_back(entry.elements[0].value);
    return ids;
}
} // namespace

BOOST_FIXTURE_TEST_CASE(nothing_is_recorded_after_a_terminal_event_by_any_writer, redis_fixture) {
    recording_sink sink;
    auto subscription = run(ioc, subscribe(sub, wire::session_channel("s3"), sink));
    worker::session_writer events(client, "s3");
    run(ioc, events.publish("worker_ack"));
    // The gateway ends the session (its ack or idle timeout) with a writer of its own.
    auto end = run(ioc, worker::record_message(client, "s3",
                                               wire::error_message(wire::end_code::idle_timeout,
                                                                   "no event for too long")));
    BOOST_TEST(end.id == wire::sealing_id.to_string());
    // The worker's next event is refused, and so is a second end.
    BOOST_TEST((failure_of(ioc, events.publish("T")) == wire::error::session_ended));
    BOOST_TEST((failure_of(ioc, events.publish("T")) == wire::error::session_ended));
    BOOST_TEST((failure_of(ioc, worker::publish_event(client, "s3", "FinalAnswerStreamEnd")) ==
                wire::error::session_ended));
    BOOST_TEST(logged_ids(*this, "s3").size() == 2u);
    // A refused event's message went out (MULTI/EXEC runs the PUBLISH) but
    // after the end, where every subscriber has stopped.
    run_until(
        ioc, [&] { return sink.messages.size() >= 3; }, 5s);
    BOOST_TEST_REQUIRE(sink.messages.size() >= 2u);
    BOOST_TEST((wire::inspect_event(sink.messages[1])->id.value() == wire::sealing_id));
}

BOOST_FIXTURE_TEST_CASE(a_writer_overtaken_by_another_records_after_it, redis_fixture) {
    worker::session_writer events(client, "s6");
    auto first = run(ioc, events.publish("worker_ack"));
    // Another process, its clock an hour ahead, went ahead.
    auto ahead = wire::entry_id::parse(first.id).value();
    ahead.ms += 3600 * 1000;
    exec({"XADD", wire::log_key("s6"), ahead.to_string(), "m",
          R"({"event_type":"T","payload":{}})"});
    auto next = run(ioc, events.publish("T"));
    BOOST_TEST((wire::entry_id::parse(next.id).value() > ahead));
    auto ids = logged_ids(*this, "s6");
    BOOST_TEST(ids == (std::vector<std::string>{first.id, ahead.to_string(), next.id}),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_bad_payload_is_refused_before_anything_is_sent, redis_fixture) {
    try {
        run(ioc, publish(client, "s4", "x", "{oops"));
        BOOST_FAIL("a bad payload was published");
    } catch (const boost::system::system_error& e) {
        BOOST_TEST((e.code() == wire::error::payload_not_json));
    }
    BOOST_TEST(exec({"EXISTS", wire::log_key("s4")}).integer == 0);
}

BOOST_AUTO_TEST_CASE(serve_requests_runs_handlers_concurrently_within_the_bound) {
    redis_server redis;
    kafka::mock_cluster cluster;
    cluster.create_topic("react_requests");
    asio::io_context ioc;
    auto redis_cfg = redis::config::from_url(redis.url()).value();
    redis::client publisher(ioc.get_executor(), redis_cfg);
    run(ioc, publisher.async_connect());
    bool publisher_done = false;
    asio::co_spawn(ioc, publisher.async_run(),
                   [&](std::exception_ptr, boost::system::error_code) { publisher_done = true; });
    redis::subscriber sub(ioc.get_executor(), redis_cfg);
    asio::co_spawn(ioc, sub.async_run(), asio::detached);
    run(ioc, sub.async_wait_connected());
    recording_sink sink;
    auto subscription = run(ioc, subscribe(sub, "sse_session:s3", sink));

    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", cluster.bootstrap_servers()}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);
    for (std::string value : {std::string(R"({"session_id":"s1","request":{"user_query":"a"}})"),
                              std::string("malformed"),
                              std::string(R"({"session_id":"s2","request":{"user_query":"b"}})"),
                              std::string(R"({"session_id":"s3","request":{"user_query":"c"}})")})
        BOOST_TEST(run(ioc, producer.async_produce("react_requests", "k", value), 20s).ok);

    kafka::consumer consumer(ioc.get_executor(),
                             kafka::group_settings(cluster.bootstrap_servers(), "w"),
                             {"react_requests"});
    int running = 0, most = 0;
    std::vector<std::string> served;
    auto handler = [&](worker::request r, worker::session_writer& events) -> coro::awaitable<void> {
        most = std::max(most, ++running);
        co_await sleep_for(100ms);
        co_await events.publish("worker_ack");
        served.push_back(r.session_id + ":" + r.user_query);
        --running;
    };
    bool stopped = false;
    asio::co_spawn(
        ioc,
        coro::with_timeout(worker::serve_requests(consumer, publisher, sub, handler, {2, {}}), 60s),
        [&](std::exception_ptr, bool) { stopped = true; });
    run_until(
        ioc, [&] { return served.size() == 3; }, 40s);
    BOOST_TEST(most == 2);
    std::sort(served.begin(), served.end());
    BOOST_TEST(served == (std::vector<std::string>{"s1:a", "s2:b", "s3:c"}),
               boost::test_tools::per_element());
    run_until(
        ioc, [&] { return sink.messages.size() == 1; }, 5s);
    auto ack = wire::inspect_event(sink.messages[0]);
    BOOST_TEST_REQUIRE(ack.has_value());
    BOOST_TEST((ack->kind == wire::event_kind::ack));
    BOOST_TEST(ack->id.has_value()); // recorded
    consumer.close();
    publisher.close();
    run_until(
        ioc, [&] { return publisher_done; }, 5s);
}

BOOST_FIXTURE_TEST_CASE(after_a_cancel_nothing_is_published_but_the_confirmation, redis_fixture) {
    worker::session_writer events(client, "s5");
    run(ioc, events.publish("worker_ack"));
    events.cancel();
    BOOST_TEST((failure_of(ioc, events.publish("T")) == wire::error::session_cancelled));
    run(ioc, events.record_cancelled());
    BOOST_TEST((failure_of(ioc, events.record_cancelled()) == wire::error::session_ended));
    redis::reply log = exec({"XRANGE", wire::log_key("s5"), "-", "+"});
    BOOST_TEST_REQUIRE(log.elements.size() == 2u);
    auto last = wire::inspect_event(log.elements[1].elements[1].elements[1].value);
    BOOST_TEST((last->kind == wire::event_kind::cancelled));
}

namespace {
// Sets the tombstone and publishes the cancel, as the gateway does.
std::int64_t cancel(redis_fixture& f, const std::string& id) {
    redis::reply r =
        run(f.ioc, f.client.async_eval({wire::cancel_script(), wire::cancel_script_sha1()},
                                       {wire::cancel_key(id), wire::control_channel(id)}, {"60"}));
    return r.integer;
}

std::vector<std::string> logged_types(redis_fixture& f, const std::string& id) {
    std::vector<std::string> types;
    redis::reply log = f.exec({"XRANGE", wire::log_key(id), "-", "+"});
    for (auto& entry : log.elements)
        types.emplace_back(
            boost::json::parse(entry.elements[1].elements[1].value).at("event_type").as_string());
    return types;
}
} // namespace

namespace {
/// The requests topic on a mock Kafka cluster: a producer as the gateway's,
/// and a worker's consumer.
struct request_queue {
    kafka::mock_cluster cluster;
    bool created = (cluster.create_topic("react_requests"), true);
    kafka::producer producer;
    kafka::consumer consumer;

    explicit request_queue(asio::io_context& ioc)
        : producer(ioc.get_executor(), {{"bootstrap.servers", cluster.bootstrap_servers()}})
        , consumer(ioc.get_executor(), kafka::group_settings(cluster.bootstrap_servers(), "w"),
                   {"react_requests"}) {
        asio::co_spawn(ioc, producer.async_run(), asio::detached);
    }
    bool request(asio::io_context& ioc, const std::string& id) {
        return run(ioc,
                   producer.async_produce("react_requests", id,
                                          wire::kafka_record(id, R"({"user_query":"q"})")),
                   20s)
            .ok;
    }
};
} // namespace

// A handler that takes its time between events, and one in a burst (an
// event as fast as Redis answers): the cancel races it.
BOOST_DATA_TEST_CASE_F(redis_fixture,
                       a_cancel_stops_the_running_handler_or_the_request_before_it_runs,
                       boost::unit_test::data::make({5, 0}), pause_ms) {
    request_queue requests(ioc);
    // "early" is cancelled before any worker picks it up.
    cancel(*this, "early");
    std::vector<std::string> started;
    std::set<std::string> unwound;
    auto handler = [&](worker::request r, worker::session_writer& events) -> coro::awaitable<void> {
        started.push_back(r.session_id);
        struct guard {
            std::set<std::string>& out;
            std::string id;
            ~guard() { out.insert(id); }
        } unwinding{unwound, r.session_id};
        co_await events.publish("worker_ack");
        for (int i = 0; i < (pause_ms > 0 ? 1000 : 100000); ++i) {
            co_await events.publish("T");
            if (pause_ms > 0)
                co_await sleep_for(std::chrono::milliseconds(pause_ms));
        }
        co_await events.publish("FinalAnswerStreamEnd");
    };
    recording_sink live;
    auto listening = run(ioc, subscribe(sub, wire::session_channel("running"), live));
    coro::task_group serving(ioc.get_executor());
    serving.spawn(worker::serve_requests(requests.consumer, client, sub, handler, {8, {}}));
    for (std::string id : {"early", "running"})
        BOOST_TEST(requests.request(ioc, id));
    run_until(
        ioc, [&] { return logged_types(*this, "running").size() >= 5; }, 30s);
    BOOST_TEST(cancel(*this, "running") == 1); // the worker listens on the control channel
    run_until(
        ioc, [&] { return unwound.count("running") == 1; }, 5s);
    run_until(
        ioc, [&] { return logged_types(*this, "running").back() == "cancelled"; }, 5s);
    run(ioc, sleep_for(50ms));
    auto running = logged_types(*this, "running");
    BOOST_TEST(running.back() == "cancelled"); // the last: nothing after the confirmation
    BOOST_TEST(std::count(running.begin(), running.end(), "cancelled") == 1);
    // A reader that keeps the gateway's rule heard exactly the log.
    BOOST_TEST(delivered_ids(live.messages) == logged_ids(*this, "running"),
               boost::test_tools::per_element());
    BOOST_TEST(std::count(started.begin(), started.end(), "early") == 0); // never ran
    BOOST_TEST(logged_types(*this, "early") == std::vector<std::string>{"cancelled"},
               boost::test_tools::per_element());
    serving.cancel();
    run(ioc, serving.async_wait());
    requests.consumer.close();
}

// The worker's control subscription lost while its handler runs: Redis
// restarted (the cancel comes once the worker listens again), or the
// connection dropped while a cancel's word went unheard (its tombstone
// set): either way the worker subscribes again, reads the tombstone, and
// the cancel stops the handler.
BOOST_DATA_TEST_CASE(a_cancel_reaches_a_handler_after_its_control_channel_was_lost,
                     boost::unit_test::data::make({"restart", "dropped"}), fault) {
    redis_server redis;
    asio::io_context ioc;
    auto cfg = redis::config::from_url(redis.url()).value();
    redis::client client(ioc.get_executor(), cfg);
    redis::subscriber sub(ioc.get_executor(), cfg);
    coro::task_group background(ioc.get_executor());
    background.spawn(client.async_keep_connected());
    background.spawn(sub.async_run());
    run(ioc, sub.async_wait_connected());
    run_until(
        ioc, [&] { return client.connected(); }, 5s);
    auto exec = [&](const std::vector<std::string>& args) {
        return exec_on(ioc, client, args);
    };
    const std::string control = wire::control_channel("deaf");
    auto listeners = [&]() -> std::int64_t {
        try {
            return exec({"PUBSUB", "NUMSUB", control}).elements.at(1).integer;
        } catch (const boost::system::system_error&) { // the client has yet to see the restart
            return -1;
        }
    };

    request_queue requests(ioc);
    int events_sent = 0;
    bool unwound = false;
    auto handler = [&](worker::request, worker::session_writer& events) -> coro::awaitable<void> {
        struct guard {
            bool& out;
            ~guard() { out = true; }
        } unwinding{unwound};
        for (;;) {
            co_await events.publish("T");
            ++events_sent;
            co_await sleep_for(5ms);
        }
    };
    background.spawn(worker::serve_requests(requests.consumer, client, sub, handler, {8, {}}));
    BOOST_TEST(requests.request(ioc, "deaf"));
    run_until(
        ioc, [&] { return events_sent >= 5 && listeners() == 1; }, 30s);
    if (std::string_view(fault) == "restart") {
        redis.stop();
        redis.start();
        run_until(
            ioc, [&] { return client.connected() && listeners() == 1; }, 10s);
        exec({"SET", wire::cancel_key("deaf"), "1"});
        BOOST_TEST(exec({"PUBLISH", control, "cancel"}).integer == 1);
    } else {
        exec({"SET", wire::cancel_key("deaf"), "1"}); // and the word is never published
        BOOST_TEST(exec({"CLIENT", "KILL", "TYPE", "pubsub"}).integer == 1);
    }
    run_until(
        ioc, [&] { return unwound; }, 10s);
    redis::reply last = exec({"XREVRANGE", wire::log_key("deaf"), "+", "-", "COUNT", "1"});
    BOOST_TEST_REQUIRE(last.elements.size() == 1u);
    BOOST_TEST(last.elements[0].elements[0].value == wire::sealing_id.to_string());
    auto confirmation = wire::inspect_event(last.elements[0].elements[1].elements[1].value);
    BOOST_TEST((confirmation->kind == wire::event_kind::cancelled));
    background.cancel();
    client.close();
    run(ioc, background.async_wait());
    requests.consumer.close();
}

namespace {
/// One number of `INFO commandstats`: `field` (calls, failed_calls…) of
/// `command`; -1 when absent.
long command_stat(const std::string& info, const std::string& command, const std::string& field) {
    auto line = info.find("cmdstat_" + command + ":");
    if (line == std::string::npos)
        return -1;
    auto end = info.find_first_of("\r\n", line);
    auto at = info.substr(line, end - line).find(field + "=");
    if (at == std::string::npos)
        return -1;
    return std::stol(info.substr(line + at + field.size() + 1));
}

int index_of(const std::string& message) {
    auto v = boost::json::parse(message).as_object();
    const auto* payload = v.at("payload").as_object().if_contains("i");
    return payload ? static_cast<int>(payload->as_int64()) : -1;
}
} // namespace

// Redis restarted (connections reset, the log lost: no persistence here) or
// hung (SIGSTOP: commands wait in the socket; the client gives up on the
// connection and sends them again) in the middle of a burst. Whatever the
// writer sends twice is recorded once; the log holds each event once, in
// order, to its end; a reader that keeps the gateway's rule (an id not
// after the last one is dropped) sees nothing the log lacks — after the
// restart: before it, the log is gone, and a resume gets `reset`.
BOOST_DATA_TEST_CASE(a_burst_is_recorded_once_whatever_redis_does_midway,
                     boost::unit_test::data::make({"restart", "hang"}), fault) {
    redis_server redis;
    asio::io_context ioc;
    auto cfg = redis::config::from_url(redis.url()).value();
    cfg.reply_timeout = 300ms;
    redis::client client(ioc.get_executor(), cfg);
    coro::task_group background(ioc.get_executor());
    background.spawn(client.async_keep_connected());
    redis::subscriber sub(ioc.get_executor(), cfg);
    background.spawn(sub.async_run());
    run(ioc, sub.async_wait_connected());
    run_until(
        ioc, [&] { return client.connected(); }, 5s);
    recording_sink live;
    auto subscription = run(ioc, subscribe(sub, wire::session_channel("burst"), live));

    worker::session_writer events(client, "burst", {10000, 60s, 20s});
    std::vector<std::string> sent;
    bool finished = false;
    background.spawn(burst(events, 400, sent, finished));
    run_until(
        ioc, [&] { return sent.size() >= 100; }, 10s);
    if (std::string_view(fault) == "restart") {
        redis.stop();
        redis.start();
    } else {
        redis.pause();
        run(ioc, sleep_for(1s)); // the client's PINGs go unanswered: it reconnects
        redis.resume();
    }
    // A reader that comes back (as a gateway's client resumes) hears the rest.
    run_until(
        ioc, [&] { return live.lost > 0; }, 5s);
    run(ioc, sub.async_wait_connected());
    recording_sink back;
    auto again = run(ioc, subscribe(sub, wire::session_channel("burst"), back));
    run_until(
        ioc, [&] { return finished; }, 30s);
    BOOST_TEST_REQUIRE(finished);
    run(ioc, sleep_for(200ms)); // the last live messages
    if (std::string_view(fault) == "hang") {
        // The event in flight as Redis stopped ran once it went on (its
        // connection closed unanswered); the writer sent it again, Redis
        // refused the repeat, and the writer found its entry: one XADD
        // refused, one XRANGE of it.
        redis::reply stats =
            run(ioc, client.async_exec(redis::make_command({"INFO", "commandstats"})));
        BOOST_TEST(command_stat(stats.value, "xadd", "calls") == 402);
        BOOST_TEST(command_stat(stats.value, "xadd", "failed_calls") == 1);
        BOOST_TEST(command_stat(stats.value, "xrange", "calls") == 1);
    }

    redis::reply log = run(
        ioc, client.async_exec(redis::make_command({"XRANGE", wire::log_key("burst"), "-", "+"})));
    BOOST_TEST_REQUIRE(log.elements.size() > 1u);
    std::vector<std::string> logged;
    std::vector<int> order;
    for (const redis::reply& entry : log.elements) {
        logged.push_back(entry.elements[0].value);
        order.push_back(index_of(entry.elements[1].elements[1].value));
    }
    // Each event once, in order, to the end.
    bool increasing = std::adjacent_find(order.begin(), order.end() - 1, std::greater_equal<>()) ==
                      order.end() - 1;
    BOOST_TEST(increasing);
    BOOST_TEST(order.back() == -1);
    BOOST_TEST(logged.back() == wire::sealing_id.to_string());
    // What the writer was told is what the log holds: all of it, or (the
    // log lost with the restart) what came after.
    BOOST_TEST_REQUIRE(sent.size() == 401u);
    std::vector<std::string> tail(sent.end() - static_cast<long>(logged.size()), sent.end());
    BOOST_TEST(logged == tail, boost::test_tools::per_element());
    if (std::string_view(fault) == "hang")
        BOOST_TEST(logged.size() == sent.size());
    // The reader: ids increase (repeats dropped), nothing after the end, and
    // from the log's first entry on, exactly the log.
    std::vector<std::string> delivered;
    for (const std::string& id : delivered_ids(live.messages))
        if (wire::entry_id::parse(id).value() >= wire::entry_id::parse(logged.front()).value())
            delivered.push_back(id);
    // (A subscription lost meanwhile misses what was published without it:
    // the gateway ends such a stream as backend_lost, and its client resumes
    // from the log.)
    std::size_t at = 0;
    for (const std::string& id : delivered) {
        while (at < logged.size() && logged[at] != id)
            ++at;
        BOOST_TEST_REQUIRE(at < logged.size(), id << " was heard but is not in the log");
    }
    // The reader that came back: from what it heard first, exactly the log's rest.
    std::vector<std::string> heard = delivered_ids(back.messages);
    BOOST_TEST_REQUIRE(!heard.empty());
    auto from = std::find(logged.begin(), logged.end(), heard.front());
    BOOST_TEST(std::vector<std::string>(from, logged.end()) == heard,
               boost::test_tools::per_element());
    BOOST_TEST(heard.size() > 200u);
    BOOST_TEST_MESSAGE(fault << ": " << logged.size() << " entries; heard " << live.messages.size()
                             << " before, " << back.messages.size() << " after");
    background.cancel();
    client.close();
    run(ioc, background.async_wait());
}

// The session's master killed in the middle of a burst: the writer waits for
// its replica to take over and goes on. Replication is asynchronous, so the
// events the old master took last may be gone (a resume past them gets
// `reset`); the rest is recorded once, in order, to the end, and a reader
// subscribed on the new master hears exactly the log's rest.
BOOST_AUTO_TEST_CASE(a_burst_goes_on_after_a_cluster_failover) {
    redis_cluster cluster(3, 1);
    asio::io_context ioc;
    redis::config cfg;
    cfg.cluster = redis::parse_node_list(cluster.seeds()).value();
    cfg.connect_timeout = 2s;
    cfg.reply_timeout = 2s;
    redis::client client(ioc.get_executor(), cfg);
    redis::subscriber sub(ioc.get_executor(), cfg);
    coro::task_group background(ioc.get_executor());
    background.spawn(client.async_keep_connected());
    background.spawn(sub.async_run());
    run(ioc, sub.async_wait_connected(), 15s);
    run_until(
        ioc, [&] { return client.connected(); }, 15s);

    const std::string id = wire::make_session_id();
    worker::session_writer events(client, id, {10000, 60s, 20s});
    std::vector<std::string> sent;
    bool finished = false;
    background.spawn(burst(events, 400, sent, finished));
    run_until(
        ioc, [&] { return sent.size() >= 100; }, 10s);
    std::uint16_t victim = cluster.master_of(redis::key_slot(wire::session_channel(id)));
    cluster.kill(victim);
    cluster.wait_for_failover(victim);
    std::size_t after_failover = sent.size();
    recording_sink back;
    std::optional<redis::subscriber::subscription> again;
    for (auto until = std::chrono::steady_clock::now() + 15s;
         !again && std::chrono::steady_clock::now() < until;) {
        try {
            again = run(ioc, subscribe(sub, wire::session_channel(id), back), 5s);
        } catch (const std::exception&) { // not yet: the old map
            run(ioc, sleep_for(100ms));
        }
    }
    BOOST_TEST_REQUIRE(again.has_value());
    run_until(
        ioc, [&] { return finished; }, 30s);
    BOOST_TEST_REQUIRE(finished);
    run(ioc, sleep_for(200ms));

    redis::reply log =
        run(ioc, client.async_exec(redis::make_command({"XRANGE", wire::log_key(id), "-", "+"})));
    std::vector<std::string> logged;
    for (const redis::reply& entry : log.elements)
        logged.push_back(entry.elements[0].value);
    BOOST_TEST_REQUIRE(sent.size() == 401u);
    BOOST_TEST_REQUIRE(!logged.empty());
    BOOST_TEST(logged.back() == wire::sealing_id.to_string());
    // In the writer's order, each once; everything after the failover.
    std::size_t at = 0;
    for (const std::string& e : logged) {
        while (at < sent.size() && sent[at] != e)
            ++at;
        BOOST_TEST_REQUIRE(at < sent.size(), e << " is in the log, but was never sent");
        ++at;
    }
    std::vector<std::string> rest(sent.begin() + static_cast<long>(after_failover), sent.end());
    BOOST_TEST(std::vector<std::string>(logged.end() - static_cast<long>(rest.size()),
                                        logged.end()) == rest,
               boost::test_tools::per_element());
    std::vector<std::string> heard = delivered_ids(back.messages);
    BOOST_TEST_REQUIRE(!heard.empty());
    auto from = std::find(logged.begin(), logged.end(), heard.front());
    BOOST_TEST(std::vector<std::string>(from, logged.end()) == heard,
               boost::test_tools::per_element());
    BOOST_TEST_MESSAGE("failover: " << logged.size() << " of " << sent.size() << " recorded, "
                                    << heard.size() << " heard after it");
    background.cancel();
    client.close();
    run(ioc, background.async_wait());
}
