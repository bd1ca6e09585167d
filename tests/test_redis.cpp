// The Redis subscriber and client against a real redis-server.
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/subscriber.hpp>

#define BOOST_TEST_MODULE redis
#include <boost/test/unit_test.hpp>

#include "support/process.hpp"
#include "support/redis_sink.hpp"
#include "support/run.hpp"

#include <ssebridge/coro/timeout.hpp>

#include <boost/asio/detached.hpp>
#include <boost/system/system_error.hpp>

using namespace ssebridge;
using namespace ssebridge::test;

namespace {

redis::config config_for(const redis_server& server) {
    return redis::config::from_url(server.url()).value();
}

// A started subscriber and a connected client, both on `ioc`.
struct harness {
    explicit harness(redis_server& server)
        : sub(ioc.get_executor(), config_for(server))
        , cli(ioc.get_executor(), config_for(server)) {
        asio::co_spawn(ioc, sub.async_run(), asio::detached);
        run(ioc, sub.async_wait_connected(), 10s);
        run(ioc, cli.async_connect(), 10s);
        asio::co_spawn(ioc, cli.async_run(), asio::detached);
    }
    std::int64_t numsub(const std::string& channel) {
        redis::reply r =
            run(ioc, cli.async_exec(redis::make_command({"PUBSUB", "NUMSUB", channel})));
        return r.elements.at(1).integer;
    }
    asio::io_context ioc;
    redis::subscriber sub;
    redis::client cli;
};

} // namespace

BOOST_AUTO_TEST_CASE(url_parsing) {
    auto c = redis::config::from_url("redis://user:secret@example.com:6380/2");
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->host == "example.com");
    BOOST_TEST(c->port == 6380);
    BOOST_TEST(c->username == "user");
    BOOST_TEST(c->password == "secret");
    c = redis::config::from_url("redis://[::1]");
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->host == "::1");
    BOOST_TEST(c->port == 6379);
    c = redis::config::from_url("redis://:pw@h");
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->password == "pw");
    BOOST_TEST(c->username.empty());
    using redis::url_error;
    for (auto [bad, why] : {std::pair{"http://h", url_error::bad_scheme},
                            {"redis://", url_error::no_host},
                            {"redis://h:0", url_error::bad_port},
                            {"redis://h:70000", url_error::bad_port},
                            {"redis://h:x", url_error::bad_port},
                            {"redis://[::1", url_error::bad_ipv6},
                            {"redis://[::1]x", url_error::junk_after_host}}) {
        auto r = redis::config::from_url(bad);
        BOOST_TEST_REQUIRE(!r.has_value(), bad);
        BOOST_TEST((r.error() == why), bad);
        BOOST_TEST(!r.error().message().empty());
    }
}

BOOST_AUTO_TEST_CASE(subscribe_is_confirmed_routed_and_withdrawn) {
    redis_server server;
    harness h(server);
    recording_sink a, b;
    auto sub_a = run(h.ioc, subscribe(h.sub, "sse_session:a", a));
    auto sub_b = run(h.ioc, subscribe(h.sub, "sse_session:b", b));
    BOOST_TEST(h.sub.size() == 2u);
    BOOST_TEST(h.numsub("sse_session:a") == 1);

    BOOST_TEST(run(h.ioc, h.cli.async_publish("sse_session:a", "one")) == 1);
    BOOST_TEST(run(h.ioc, h.cli.async_publish("sse_session:b", "two\r\nlines")) == 1);
    BOOST_TEST(run(h.ioc, h.cli.async_publish("sse_session:a", std::string(100000, 'x'))) == 1);
    run_until(
        h.ioc, [&] { return a.messages.size() == 2 && b.messages.size() == 1; }, 5s);
    BOOST_TEST(a.messages[0] == "one");
    BOOST_TEST(a.messages[1].size() == 100000u);
    BOOST_TEST(b.messages[0] == "two\r\nlines");

    sub_a.reset();
    BOOST_TEST(h.sub.size() == 1u);
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub("sse_session:a") == 0; }));
    BOOST_TEST(h.numsub("sse_session:b") == 1);
}

BOOST_AUTO_TEST_CASE(one_connection_serves_many_subscriptions) {
    redis_server server;
    harness h(server);
    std::vector<recording_sink> sinks(500);
    std::vector<redis::subscriber::subscription> subs;
    for (std::size_t i = 0; i < sinks.size(); ++i)
        subs.push_back(run(h.ioc, subscribe(h.sub, "ch:" + std::to_string(i), sinks[i])));
    redis::reply clients = run(h.ioc, h.cli.async_exec(redis::make_command({"CLIENT", "LIST"})));
    std::size_t lines = std::count(clients.value.begin(), clients.value.end(), '\n');
    BOOST_TEST(lines == 2u); // the subscriber and this client
    for (std::size_t i = 0; i < sinks.size(); i += 50)
        run(h.ioc, h.cli.async_publish("ch:" + std::to_string(i), std::to_string(i)));
    run_until(
        h.ioc, [&] { return sinks[450].messages.size() == 1; }, 5s);
    for (std::size_t i = 0; i < sinks.size(); ++i)
        BOOST_TEST(sinks[i].messages.size() == (i % 50 == 0 ? 1u : 0u));
}

BOOST_AUTO_TEST_CASE(a_cancelled_subscribe_leaves_nothing_behind) {
    redis_server server;
    harness h(server);
    recording_sink sink;
    // Cancelled before Redis could confirm it.
    auto finished = run(h.ioc, coro::with_timeout(subscribe(h.sub, "sse_session:gone", sink), 0ms));
    BOOST_TEST(!finished.has_value());
    BOOST_TEST(h.sub.size() == 0u);
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub("sse_session:gone") == 0; }));
    // And the channel can be subscribed again.
    auto again = run(h.ioc, subscribe(h.sub, "sse_session:gone", sink));
    BOOST_TEST(h.numsub("sse_session:gone") == 1);
}

BOOST_AUTO_TEST_CASE(many_sinks_share_one_channel_and_one_redis_subscription) {
    redis_server server;
    harness h(server);
    recording_sink a, b, c;
    // Two subscribe at once (the second joins the pending SUBSCRIBE), one later.
    std::optional<redis::subscriber::subscription> sub_a, sub_b;
    asio::co_spawn(
        h.ioc, subscribe(h.sub, "shared", a),
        [&](std::exception_ptr, redis::subscriber::subscription s) { sub_a = std::move(s); });
    asio::co_spawn(
        h.ioc, subscribe(h.sub, "shared", b),
        [&](std::exception_ptr, redis::subscriber::subscription s) { sub_b = std::move(s); });
    run_until(
        h.ioc, [&] { return sub_a && sub_b; }, 5s);
    BOOST_TEST_REQUIRE((sub_a && sub_b));
    auto sub_c = run(h.ioc, subscribe(h.sub, "shared", c));
    BOOST_TEST(h.numsub("shared") == 1); // one connection, one subscription
    BOOST_TEST(h.sub.size() == 1u);
    BOOST_TEST(run(h.ioc, h.cli.async_publish("shared", "one")) == 1);
    run_until(
        h.ioc, [&] { return c.messages.size() == 1; }, 5s);
    BOOST_TEST(a.messages == std::vector<std::string>{"one"});
    BOOST_TEST(b.messages == std::vector<std::string>{"one"});
    // Leaving in any order keeps the others; the last one unsubscribes.
    sub_a->reset();
    run(h.ioc, h.cli.async_publish("shared", "two"));
    run_until(
        h.ioc, [&] { return c.messages.size() == 2; }, 5s);
    BOOST_TEST(a.messages.size() == 1u);
    BOOST_TEST(b.messages.size() == 2u);
    sub_c.reset();
    BOOST_TEST(h.numsub("shared") == 1);
    sub_b->reset();
    BOOST_TEST(h.sub.size() == 0u);
    BOOST_TEST(eventually(h.ioc, [&] { return h.numsub("shared") == 0; }));
}

// The owner hears when a read's messages have all gone to their sinks: it
// can act on them together (the gateway writes each client once a read).
BOOST_AUTO_TEST_CASE(each_read_ends_with_one_batch_end_after_its_messages) {
    redis_server server;
    harness h(server);
    recording_sink a;
    std::size_t batches = 0, noted_at_last_batch = 0;
    h.sub.on_batch_end([&] {
        ++batches;
        noted_at_last_batch = a.messages.size();
    });
    auto held = run(h.ioc, subscribe(h.sub, "burst", a));
    std::string pipeline;
    for (int i = 0; i < 200; ++i)
        redis::append_command(pipeline, {"PUBLISH", "burst", std::to_string(i)});
    run(h.ioc, h.cli.async_exec(pipeline)); // the first reply; the others are ignored
    run_until(
        h.ioc, [&] { return a.messages.size() == 200 && noted_at_last_batch == 200; }, 5s);
    BOOST_TEST(batches >= 1u);
    BOOST_TEST(batches < 200u); // messages come many to a read
}

// A batch is everything Redis has sent, not one read's worth: the socket is
// read dry (up to a bound) before the batch ends, so that under load the
// owner acts on many messages of a channel at once (one send per client).
BOOST_AUTO_TEST_CASE(a_batch_takes_all_that_has_arrived_not_one_read) {
    redis_server server;
    harness h(server);
    recording_sink a;
    std::size_t batches = 0;
    h.sub.on_batch_end([&] { ++batches; });
    auto held = run(h.ioc, subscribe(h.sub, "backlog", a));
    // Published from another loop while the subscriber's is stopped: 1.4 MB
    // (the read buffer starts at 64 KB; a batch ends at 1 MiB) wait in the
    // kernel's socket buffers, which pass more on as the subscriber reads.
    constexpr int messages = 6000;
    const std::string body(200, 'x');
    asio::io_context other;
    redis::client publisher(other.get_executor(), config_for(server));
    run(other, publisher.async_connect(), 10s);
    asio::co_spawn(other, publisher.async_run(), asio::detached);
    std::string pipeline;
    for (int i = 0; i < messages; ++i)
        redis::append_command(pipeline, {"PUBLISH", "backlog", body});
    run(other, publisher.async_exec(pipeline));
    // Until Redis has written all of it to the subscriber's socket.
    BOOST_TEST_REQUIRE(eventually(
        other,
        [&] {
            redis::reply list = run(other, publisher.async_exec(redis::make_command(
                                               {"CLIENT", "LIST", "TYPE", "pubsub"})));
            return list.value.find("omem=0") != std::string::npos;
        },
        5s));
    run(other, sleep_for(100ms));
    publisher.close();
    other.run_for(1s);
    run_until(
        h.ioc, [&] { return a.messages.size() == messages; }, 5s);
    BOOST_TEST(a.messages.size() == std::size_t(messages));
    BOOST_TEST_MESSAGE(messages << " messages in " << batches << " batches");
    BOOST_TEST(batches <= 6u); // one read's worth each would be 20 or more
}

// Every sink hears it: two of one channel, one of another.
BOOST_AUTO_TEST_CASE(losing_redis_tells_every_sink_and_reconnects) {
    redis_server server;
    harness h(server);
    recording_sink a, b, other;
    auto sub_a = run(h.ioc, subscribe(h.sub, "dup", a));
    auto sub_b = run(h.ioc, subscribe(h.sub, "dup", b));
    auto sub_other = run(h.ioc, subscribe(h.sub, "other", other));
    server.stop();
    run_until(
        h.ioc, [&] { return a.lost == 1 && b.lost == 1 && other.lost == 1; }, 5s);
    BOOST_TEST(h.sub.size() == 0u);
    BOOST_CHECK_EXCEPTION(run(h.ioc, subscribe(h.sub, "while down", a)),
                          boost::system::system_error,
                          [](const auto& e) { return e.code() == asio::error::not_connected; });
    server.start();
    run(h.ioc, h.sub.async_wait_connected(), 10s);
    BOOST_TEST(h.sub.stats().connects == 2u);
    redis::client fresh(h.ioc.get_executor(), config_for(server));
    run(h.ioc, fresh.async_connect());
    asio::co_spawn(h.ioc, fresh.async_run(), asio::detached);
    recording_sink c;
    auto sub_c = run(h.ioc, subscribe(h.sub, "c", c));
    BOOST_TEST(run(h.ioc, fresh.async_publish("c", "back")) == 1);
    run_until(
        h.ioc, [&] { return c.messages.size() == 1; }, 5s);
}

BOOST_AUTO_TEST_CASE(client_returns_error_replies_and_fails_pending_commands_on_loss) {
    redis_server server;
    harness h(server);
    redis::reply r = run(h.ioc, h.cli.async_exec(redis::make_command({"NOSUCHCOMMAND"})));
    BOOST_TEST(r.is_error());
    // BLPOP blocks server-side; the connection dies under it.
    bool failed = false;
    asio::co_spawn(h.ioc, h.cli.async_exec(redis::make_command({"BLPOP", "nothing", "0"})),
                   [&](std::exception_ptr e, redis::reply) { failed = e != nullptr; });
    // The server holds it: one client blocked (INFO's blocked_clients), then it dies.
    BOOST_TEST_REQUIRE(eventually(h.ioc, [&] {
        for (const std::string& line : redis_cli(server.port(), {"INFO", "clients"}))
            if (line.starts_with("blocked_clients:1"))
                return true;
        return false;
    }));
    server.stop();
    run_until(
        h.ioc, [&] { return failed; }, 5s);
    // Once the connection is gone the client says so, and a new command
    // fails at once instead of queueing where no reader will answer it.
    BOOST_TEST(!h.cli.connected());
    bool refused = false;
    try {
        run(h.ioc, h.cli.async_exec(redis::make_command({"PING"})), 2s);
    } catch (const boost::system::system_error& e) {
        refused = e.code() == asio::error::not_connected;
    }
    BOOST_TEST(refused);
}

// While a connection is being made (here: to a server that accepts it in the
// kernel and answers nothing) the client is not connected, and a command is
// refused rather than queued on a connection that may never serve it.
BOOST_AUTO_TEST_CASE(a_connection_being_made_takes_no_command) {
    redis_server server;
    server.pause();
    asio::io_context ioc;
    redis::config cfg = config_for(server);
    cfg.connect_timeout = 1s;
    redis::client c(ioc.get_executor(), cfg);
    bool connect_failed = false;
    asio::co_spawn(ioc, c.async_connect(),
                   [&](std::exception_ptr e) { connect_failed = e != nullptr; });
    run(ioc, sleep_for(200ms)); // connected in the kernel, waiting for the PONG
    BOOST_TEST(!c.connected());
    bool refused = false;
    try {
        run(ioc, c.async_exec(redis::make_command({"PING"})), 2s);
    } catch (const boost::system::system_error& e) {
        refused = e.code() == asio::error::not_connected;
    }
    BOOST_TEST(refused);
    run_until(
        ioc, [&] { return connect_failed; }, 5s);
    server.resume();
}

namespace {
redis::config quick_to_give_up(const redis_server& server) {
    redis::config cfg = config_for(server);
    cfg.reply_timeout = cfg.connect_timeout = 300ms;
    return cfg;
}
} // namespace

namespace {
// A client kept connected to a server of its own, which the test can hang.
struct kept_client {
    kept_client()
        : c(ioc.get_executor(), quick_to_give_up(server)) {
        asio::co_spawn(ioc, c.async_keep_connected(), asio::detached);
        run_until(
            ioc, [&] { return c.connected(); }, 5s);
    }
    ~kept_client() {
        c.close();
        run(ioc, sleep_for(10ms));
    }
    redis_server server;
    asio::io_context ioc;
    redis::client c;
};
} // namespace

BOOST_FIXTURE_TEST_CASE(a_hung_server_fails_pending_commands_and_is_reconnected_when_back,
                        kept_client) {
    server.pause();
    auto asked = coro::clock::now();
    BOOST_CHECK_EXCEPTION(run(ioc, c.async_publish("x", "1"), 5s), boost::system::system_error,
                          [](const auto& e) { return e.code() == asio::error::connection_reset; });
    auto waited = coro::clock::now() - asked;
    BOOST_TEST((waited >= 300ms));
    BOOST_TEST((waited < 2s));
    BOOST_TEST(!c.connected()); // the kernel accepts a new connection, but PING goes unanswered
    run(ioc, sleep_for(700ms));
    BOOST_TEST(!c.connected());
    server.resume();
    run_until(
        ioc, [&] { return c.connected(); }, 10s);
    BOOST_TEST(run(ioc, c.async_publish("x", "2")) == 0);
}

BOOST_FIXTURE_TEST_CASE(an_idle_client_notices_a_hung_server_by_its_ping, kept_client) {
    run(ioc, sleep_for(500ms)); // idle: PINGs answered, the connection stays
    BOOST_TEST(c.connected());
    server.pause();
    run_until(
        ioc, [&] { return !c.connected(); }, 2s);
    server.resume();
    run_until(
        ioc, [&] { return c.connected(); }, 10s);
}

BOOST_AUTO_TEST_CASE(subscribers_hear_of_a_hung_server_and_subscribe_again_once_it_answers) {
    redis_server server;
    asio::io_context ioc;
    redis::subscriber sub(ioc.get_executor(), quick_to_give_up(server));
    asio::co_spawn(ioc, sub.async_run(), asio::detached);
    run(ioc, sub.async_wait_connected(), 10s);
    recording_sink a;
    auto held = run(ioc, subscribe(sub, "a", a));
    run(ioc, sleep_for(500ms)); // quiet but alive: no loss
    BOOST_TEST(a.lost == 0);
    server.pause();
    run_until(
        ioc, [&] { return a.lost == 1; }, 2s);
    BOOST_TEST(!sub.connected());
    server.resume();
    run(ioc, sub.async_wait_connected(), 10s);
    recording_sink b;
    auto again = run(ioc, subscribe(sub, "a", b));
    redis::client pub(ioc.get_executor(), config_for(server));
    run(ioc, pub.async_connect());
    asio::co_spawn(ioc, pub.async_run(), asio::detached);
    BOOST_TEST(run(ioc, pub.async_publish("a", "back")) == 1);
    run_until(
        ioc, [&] { return b.messages.size() == 1; }, 5s);
    pub.close();
    run(ioc, sleep_for(10ms));
}

BOOST_AUTO_TEST_CASE(a_client_kept_connected_comes_back_after_a_restart) {
    redis_server server;
    asio::io_context ioc;
    redis::client c(ioc.get_executor(), config_for(server));
    bool stopped = false;
    asio::co_spawn(ioc, c.async_keep_connected(), [&](std::exception_ptr) { stopped = true; });
    run_until(
        ioc, [&] { return c.connected(); }, 5s);
    BOOST_TEST(run(ioc, c.async_publish("x", "1")) == 0);
    server.stop();
    run_until(
        ioc, [&] { return !c.connected(); }, 5s);
    BOOST_CHECK_EXCEPTION(run(ioc, c.async_publish("x", "2")), boost::system::system_error,
                          [](const auto& e) { return e.code() == asio::error::not_connected; });
    server.start();
    run_until(
        ioc, [&] { return c.connected(); }, 10s);
    BOOST_TEST(run(ioc, c.async_publish("x", "3")) == 0);
    BOOST_TEST(!stopped);
}
