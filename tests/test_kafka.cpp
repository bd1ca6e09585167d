// The awaitable producer and consumer against librdkafka's mock cluster.
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/kafka/mock_cluster.hpp>
#include <ssebridge/kafka/producer.hpp>

#define BOOST_TEST_MODULE kafka
#include <boost/test/unit_test.hpp>

#include "support/process.hpp"
#include "support/run.hpp"

#include <ssebridge/coro/timeout.hpp>

#include <boost/asio/detached.hpp>

using namespace ssebridge;
using namespace ssebridge::test;

BOOST_AUTO_TEST_CASE(produce_is_awaited_until_delivered_and_consumed_by_a_group) {
    kafka::mock_cluster cluster;
    cluster.create_topic("requests", 2);
    asio::io_context ioc;
    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", cluster.bootstrap_servers()}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);

    kafka::delivery d = run(ioc, producer.async_produce("requests", "key-1", R"({"n":1})"), 20s);
    BOOST_TEST(d.ok, d.error);
    BOOST_TEST(d.offset >= 0);
    BOOST_TEST(producer.in_flight() == 0);

    kafka::consumer consumer(ioc.get_executor(),
                             kafka::group_settings(cluster.bootstrap_servers(), "g"), {"requests"});
    kafka::record r = run(ioc, consumer.async_receive(), 30s);
    BOOST_TEST(r.topic == "requests");
    BOOST_TEST(r.key == "key-1");
    BOOST_TEST(r.value == R"({"n":1})");

    // Records produced while the consumer waits wake it through the queue event.
    kafka::delivery d2 = run(ioc, producer.async_produce("requests", "key-1", "second"), 20s);
    BOOST_TEST(d2.ok);
    kafka::record r2 = run(ioc, consumer.async_receive(), 20s);
    BOOST_TEST(r2.value == "second");
    BOOST_TEST(consumer.close());
}

// max.poll.interval.ms is 7 s in group_settings: each member outlives it here.
BOOST_AUTO_TEST_CASE(a_member_stays_in_its_group_while_idle_and_while_paused) {
    kafka::mock_cluster cluster;
    cluster.create_topic("idle");
    cluster.create_topic("busy");
    asio::io_context ioc;
    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", cluster.bootstrap_servers()}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);
    kafka::consumer idle(ioc.get_executor(),
                         kafka::group_settings(cluster.bootstrap_servers(), "i"), {"idle"});
    kafka::consumer busy(ioc.get_executor(),
                         kafka::group_settings(cluster.bootstrap_servers(), "b"), {"busy"});
    for (const char* topic : {"idle", "busy"})
        BOOST_TEST(run(ioc, producer.async_produce(topic, "k", "first"), 20s).ok);
    BOOST_TEST(run(ioc, idle.async_receive(), 30s).value == "first"); // both have joined
    BOOST_TEST(run(ioc, busy.async_receive(), 30s).value == "first");

    // `busy` has no room: paused, it only stays in the group; `idle` has nothing to do.
    busy.pause();
    BOOST_TEST(run(ioc, producer.async_produce("busy", "k", "waits"), 20s).ok);
    std::optional<kafka::record> idle_got;
    bool idle_done = false, busy_done = false;
    asio::co_spawn(ioc, coro::with_timeout(idle.async_receive(), 8500ms),
                   [&](std::exception_ptr, std::optional<kafka::record> r) {
                       idle_got = std::move(r);
                       idle_done = true;
                   });
    asio::co_spawn(ioc, coro::with_timeout(busy.async_stay_in_group(), 8500ms),
                   [&](std::exception_ptr, bool) { busy_done = true; });
    run_until(
        ioc, [&] { return idle_done && busy_done; }, 20s);
    BOOST_TEST(!idle_got.has_value());
    BOOST_TEST(idle.errors() == 0u); // no "maximum poll interval exceeded"
    BOOST_TEST(busy.errors() == 0u);

    busy.resume();
    BOOST_TEST(run(ioc, busy.async_receive(), 20s).value == "waits"); // nothing lost
    BOOST_TEST(run(ioc, producer.async_produce("idle", "k", "later"), 20s).ok);
    BOOST_TEST(run(ioc, idle.async_receive(), 20s).value == "later");
    BOOST_TEST(idle.errors() == 0u);
    BOOST_TEST(busy.errors() == 0u);
    BOOST_TEST(idle.close());
    BOOST_TEST(busy.close());
}

BOOST_AUTO_TEST_CASE(a_consumer_whose_cluster_is_gone_still_closes_in_time) {
    auto cluster = std::make_unique<kafka::mock_cluster>();
    cluster->create_topic("requests");
    asio::io_context ioc;
    kafka::settings conf = kafka::group_settings(cluster->bootstrap_servers(), "g");
    conf["log_level"] = "0";
    auto consumer = std::make_unique<kafka::consumer>(ioc.get_executor(), conf,
                                                      std::vector<std::string>{"requests"});
    // Joined: a record arrives, so the group has assigned it a partition.
    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", cluster->bootstrap_servers()}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);
    BOOST_TEST(run(ioc, producer.async_produce("requests", "k", "v"), 20s).ok);
    BOOST_TEST(run(ioc, consumer->async_receive(), 30s).value == "v");

    cluster.reset(); // the coordinator dies while the member is in the group
    auto start = std::chrono::steady_clock::now();
    bool left = consumer->close(500ms);
    BOOST_TEST(!left);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
    // librdkafka still waits out the group session (6 s here) before it lets
    // go of the handle, but no longer: never the unbounded hang of a plain
    // rd_kafka_consumer_close against a dead coordinator.
    consumer.reset();
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST((took < 20s),
               "closing took " << std::chrono::duration<double>(took).count() << " s");
}

BOOST_AUTO_TEST_CASE(an_unreachable_broker_fails_the_delivery_in_time) {
    asio::io_context ioc;
    std::uint16_t nobody = free_port();
    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", "127.0.0.1:" + std::to_string(nobody)},
                              {"message.timeout.ms", "300"},
                              {"log_level", "0"}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);
    auto start = std::chrono::steady_clock::now();
    kafka::delivery d = run(ioc, producer.async_produce("t", "k", "v"), 10s);
    BOOST_TEST(!d.ok);
    BOOST_TEST(!d.error.empty());
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
}

BOOST_AUTO_TEST_CASE(a_cancelled_produce_leaves_nothing_dangling) {
    asio::io_context ioc;
    std::uint16_t nobody = free_port();
    kafka::producer producer(ioc.get_executor(),
                             {{"bootstrap.servers", "127.0.0.1:" + std::to_string(nobody)},
                              {"message.timeout.ms", "200"},
                              {"log_level", "0"}});
    asio::co_spawn(ioc, producer.async_run(), asio::detached);
    auto r = run(ioc, coro::with_timeout(producer.async_produce("t", "k", "v"), 10ms), 5s);
    BOOST_TEST(!r.has_value());
    // The report still comes later; serving it must touch nothing freed (ASan).
    run_until(
        ioc, [&] { return producer.in_flight() == 0; }, 5s);
    run(ioc, sleep_for(50ms));
}

BOOST_AUTO_TEST_CASE(bad_settings_are_rejected) {
    asio::io_context ioc;
    BOOST_CHECK_THROW(kafka::producer(ioc.get_executor(), {{"no.such.setting", "1"}}),
                      std::invalid_argument);
}
