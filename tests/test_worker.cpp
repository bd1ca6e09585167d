// The worker library: publish_event and the consumer loop.
#include <ssebridge/worker/publish.hpp>
#include <ssebridge/worker/requests.hpp>

#define BOOST_TEST_MODULE worker
#include <boost/test/unit_test.hpp>

#include "support/process.hpp"
#include "support/redis_sink.hpp"
#include "support/run.hpp"

#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/kafka/mock_cluster.hpp>
#include <ssebridge/kafka/producer.hpp>
#include <ssebridge/redis/subscriber.hpp>

#include <boost/json/parse.hpp>

using namespace ssebridge;
using namespace ssebridge::test;

BOOST_AUTO_TEST_CASE(serve_requests_runs_handlers_concurrently_within_the_bound) {
    redis_server redis;
    kafka::mock_cluster cluster;
    cluster.create_topic("react_requests");
    asio::io_context ioc;
    std::string error;
    auto redis_cfg = *redis::config::from_url(redis.url(), error);
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
    auto handler = [&](worker::request r) -> coro::awaitable<void> {
        most = std::max(most, ++running);
        co_await sleep_for(100ms);
        co_await worker::publish_event(publisher, r.session_id, "worker_ack");
        served.push_back(r.session_id + ":" + r.user_query);
        --running;
    };
    bool stopped = false;
    asio::co_spawn(ioc, coro::with_timeout(worker::serve_requests(consumer, handler, 2), 60s),
                   [&](std::exception_ptr, bool) { stopped = true; });
    run_until(
        ioc, [&] { return served.size() == 3; }, 40s);
    BOOST_TEST(most == 2);
    std::sort(served.begin(), served.end());
    BOOST_TEST(served == (std::vector<std::string>{"s1:a", "s2:b", "s3:c"}),
               boost::test_tools::per_element());
    run_until(
        ioc, [&] { return sink.messages.size() == 1; }, 5s);
    BOOST_TEST(sink.messages[0] == R"({"event_type":"worker_ack","payload":{}})");
    consumer.close();
    publisher.close();
    run_until(
        ioc, [&] { return publisher_done; }, 5s);
}
