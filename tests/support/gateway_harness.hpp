// An in-process gateway on a real redis-server and the embedded Kafka mock.
#pragma once

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/run.hpp"

#include <ssebridge/gateway/gateway.hpp>
#include <ssebridge/redis/client.hpp>

#include <boost/asio/detached.hpp>

#include <functional>
#include <memory>

namespace ssebridge::test {

/// Settings for tests: short timeouts so every path runs in well under a second.
/// The value of the exposition line that starts with `series ` ("" when none).
inline std::string metric_value(const std::string& text, const std::string& series) {
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos)
        return "";
    at += series.size() + 2;
    return text.substr(at, text.find('\n', at) - at);
}

inline gateway::config test_config(const redis_server& redis) {
    gateway::config cfg;
    cfg.listen = "127.0.0.1:0";
    cfg.redis = redis.url();
    cfg.kafka_brokers = "embedded";
    cfg.ack_timeout = 3;
    cfg.keepalive = 5;
    cfg.idle_timeout = 5;
    cfg.kafka_timeout = 3;
    cfg.log_level = "warn";
    return cfg;
}

/// A stream opened by POST: its client, its response head and session id.
struct open_stream {
    std::unique_ptr<http_client> client;
    http_head head;
    std::string id;
};

class gateway_harness {
public:
    gateway_harness(const redis_server& redis,
                    const std::function<void(gateway::config&)>& tweak = {})
        : publisher_cfg(redis.url()) {
        gateway::config cfg = test_config(redis);
        if (tweak)
            tweak(cfg);
        gw = std::make_unique<gateway::gateway>(ioc.get_executor(), cfg);
        asio::co_spawn(ioc, gw->async_run(), [this](std::exception_ptr e) {
            failure = e;
            stopped = true;
        });
        publisher = std::make_unique<redis::client>(ioc.get_executor(),
                                                    redis::config::from_url(redis.url()).value());
        run(ioc, publisher->async_connect());
        asio::co_spawn(ioc, publisher->async_run(), asio::detached);
        // Wait for the subscriber so the first POST does not race its connect.
        run_until(
            ioc, [this] { return gw->redis_connected(); }, 10s);
    }

    ~gateway_harness() {
        gw->stop();
        try {
            run_until(
                ioc, [this] { return stopped; }, 15s);
        } catch (...) {
        }
        publisher->close();
        ioc.poll();
    }

    coro::awaitable<open_stream> open(std::string body,
                                      std::string content_type = "application/json") {
        open_stream s;
        s.client = std::make_unique<http_client>(ioc.get_executor());
        co_await s.client->connect(gw->local_endpoint());
        co_await s.client->send(post_request(body, content_type));
        s.head = co_await s.client->read_head();
        s.id = s.head.header("X-Session-Id").value_or("");
        co_return s;
    }

    /// Opens a stream and checks that it started.
    open_stream open_ok(std::string body = R"({"user_query":"hello"})") {
        open_stream s = run(ioc, open(std::move(body)));
        if (s.head.status != 200)
            throw std::runtime_error("stream did not start: " + std::to_string(s.head.status));
        return s;
    }

    std::int64_t publish(const std::string& id, std::string message) {
        return run(ioc, publisher->async_publish("sse_session:" + id, std::move(message)));
    }

    std::int64_t numsub(const std::string& id) {
        redis::reply r = run(ioc, publisher->async_exec(redis::make_command(
                                      {"PUBSUB", "NUMSUB", "sse_session:" + id})));
        return r.elements.at(1).integer;
    }

    /// Every message until the stream ends.
    std::vector<sse::message> read_all(http_client& c, std::chrono::seconds limit = 20s) {
        std::vector<sse::message> all;
        for (;;) {
            std::optional<sse::message> m = run(ioc, c.next_message(), limit);
            if (!m)
                return all;
            all.push_back(std::move(*m));
        }
    }

    /// The next message that is not a comment.
    sse::message next_event(http_client& c) {
        for (;;) {
            std::optional<sse::message> m = run(ioc, c.next_message(), 20s);
            if (!m)
                throw std::runtime_error("stream ended");
            if (!m->is_comment)
                return *m;
        }
    }

    /// The Redis the gateway uses, for more clients of the test's own.
    [[nodiscard]] redis::config publisher_config() const {
        return redis::config::from_url(publisher_cfg).value();
    }

    void wait_idle() {
        run_until(
            ioc, [this] { return gw->live_sessions() == 0 && gw->subscriptions() == 0; }, 10s);
    }

    asio::io_context ioc;
    std::string publisher_cfg;
    std::unique_ptr<gateway::gateway> gw;
    std::unique_ptr<redis::client> publisher;
    std::exception_ptr failure;
    bool stopped = false;
};

inline std::string event(std::string_view type, std::string_view payload = "{}") {
    return R"({"event_type":")" + std::string(type) + R"(","payload":)" + std::string(payload) +
           "}";
}

} // namespace ssebridge::test
