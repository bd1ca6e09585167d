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
    consumer.close();
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
