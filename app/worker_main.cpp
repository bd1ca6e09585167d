// ssebridge-worker: the reference worker. It plays the agent of the seeds for
// every request it consumes: worker_ack, a thought streamed character by
// character, a tool call, the answer streamed the same way, FinalAnswerStreamEnd.
#include <ssebridge/cli.hpp>
#include <ssebridge/coro/signals.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/worker/publish.hpp>
#include <ssebridge/worker/requests.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
using namespace ssebridge;

namespace {

struct settings {
    std::string redis = "redis://127.0.0.1:6379";
    std::string redis_cluster;
    double redis_timeout = 3;
    std::string kafka_brokers;
    std::string kafka_topic = "react_requests";
    std::string group = "ssebridge-workers";
    double delay = 0.02;
    std::string thought = "Let me look that up.";
    std::string tool = "web_search";
    std::string answer = "Here is what I found about \"{query}\".";
    std::size_t max_in_flight = 1024;
    std::size_t log_max_len = worker::recording{}.max_len;
    double log_ttl = static_cast<double>(worker::recording{}.ttl.count());
    std::string log_level = "info";
    std::string log_format = "text";

    [[nodiscard]] worker::recording log() const {
        return {log_max_len, std::chrono::seconds(static_cast<long>(std::ceil(log_ttl)))};
    }
};

std::vector<cli::option> options(settings& s) {
    return cli::redis_options(s.redis, s.redis_cluster, &s.redis_timeout) +
           cli::kafka_options(s.kafka_brokers, s.kafka_topic,
                              "Kafka bootstrap servers (the gateway prints them as "
                              "kafka.bootstrap=…)") +
           std::vector<cli::option>{
               cli::text("--group", "SSEBRIDGE_WORKER_GROUP",
                         "Kafka consumer group the workers share", s.group),
               cli::seconds("--delay", "SSEBRIDGE_WORKER_DELAY",
                            "seconds between two streamed characters", s.delay),
               cli::text("--thought", "SSEBRIDGE_WORKER_THOUGHT",
                         "the thought streamed as AgentThoughtStream", s.thought),
               cli::text("--tool", "SSEBRIDGE_WORKER_TOOL", "tool_name of AgentToolCallStart",
                         s.tool),
               cli::text("--answer", "SSEBRIDGE_WORKER_ANSWER",
                         "the answer streamed as FinalAnswerStream; {query} is the user's question",
                         s.answer),
               cli::count("--max-in-flight", "SSEBRIDGE_WORKER_MAX_IN_FLIGHT",
                          "requests served at once", s.max_in_flight),
           } +
           cli::recording_options(s.log_max_len, s.log_ttl) +
           cli::log_options(s.log_level, s.log_format);
}

// Splits UTF-8 text into characters (code points), as a person reads it.
std::vector<std::string> characters(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        auto lead = static_cast<unsigned char>(text[i]);
        std::size_t len = lead < 0x80         ? 1
                          : (lead >> 5) == 6  ? 2
                          : (lead >> 4) == 14 ? 3
                          : (lead >> 3) == 30 ? 4
                                              : 1;
        out.emplace_back(text.substr(i, len));
        i += len;
    }
    return out;
}

std::string payload(std::string_view key, std::string_view value) {
    return boost::json::serialize(boost::json::object{{key, value}});
}

kafka::settings with_log_level(kafka::settings conf) {
    conf["log_level"] = "4"; // librdkafka: warnings and worse
    return conf;
}

std::string fill_query(std::string text, const std::string& query) {
    for (std::size_t at; (at = text.find("{query}")) != std::string::npos;)
        text.replace(at, 7, query);
    return text;
}

// Streams `text` as `event_type` events, one character each. Every event is
// recorded: a client that left may come back and resume, so nobody listening
// right now is no reason to stop (a cancel is).
asio::awaitable<void> stream_text(worker::session_writer& events, const settings& s,
                                  std::string_view event_type, std::string text) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (const std::string& c : characters(text)) {
        std::string body = payload("char", c);
        co_await events.publish(event_type, body);
        pause.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(s.delay)));
        co_await pause.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> play_agent(const settings* s, worker::request req,
                                 worker::session_writer& events) {
    co_await events.publish(wire::event_type::worker_ack);
    co_await stream_text(events, *s, "AgentThoughtStream", s->thought);
    std::string tool = payload("tool_name", s->tool);
    co_await events.publish("AgentToolCallStart", tool);
    co_await stream_text(events, *s, "FinalAnswerStream", fill_query(s->answer, req.user_query));
    co_await events.publish(wire::event_type::final_answer_end);
}

// Serves the first Redis connection, then reconnects with backoff whenever
// it is lost (requests that need Redis meanwhile fail and are logged).
asio::awaitable<void> keep_redis(redis::client* r) {
    boost::system::error_code ec = co_await r->async_run();
    log::warn("redis connection lost: ", ec.message(), "; reconnecting");
    co_await r->async_keep_connected();
}

asio::awaitable<void> run(redis::client* r, redis::subscriber* control, kafka::consumer* consumer,
                          const settings* s) {
    co_await worker::serve_requests(*consumer, *r, *control,
                                    [s](worker::request req, worker::session_writer& events) {
                                        return play_agent(s, std::move(req), events);
                                    },
                                    {s->max_in_flight, s->log()});
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    cli::result<cli::parsed> parsed = cli::parse(options(s), {argv + 1, argv + argc},
                                                 [](const char* n) { return std::getenv(n); });
    if (parsed && parsed->help) {
        std::cout << "Usage: ssebridge-worker --kafka-brokers HOST:PORT [OPTIONS]\n\n"
                     "The reference worker: consumes session requests from Kafka and answers each\n"
                     "on its Redis channel as an agent would, character by character.\n\n"
                  << cli::describe(options(s));
        return 0;
    }
    if (!parsed || s.kafka_brokers.empty() || s.kafka_brokers == "embedded") {
        std::cerr << "ssebridge-worker: "
                  << (parsed ? "--kafka-brokers must name the brokers (the gateway prints them "
                               "as kafka.bootstrap=…)"
                             : parsed.error().message)
                  << "\n";
        return 2;
    }
    log::set_level(*log::level_from_name(s.log_level)); // checked by the flags
    log::set_format(*log::format_from_name(s.log_format));
    std::signal(SIGPIPE, SIG_IGN);
    auto redis_cfg = redis::config::from_flags(s.redis, s.redis_cluster);
    if (!redis_cfg) {
        std::cerr << "ssebridge-worker: --redis or --redis-cluster: " << redis_cfg.error().message()
                  << "\n";
        return 2;
    }
    redis_cfg->connect_timeout = redis_cfg->reply_timeout = coro::seconds(s.redis_timeout);

    asio::io_context ioc(1);
    redis::client publisher(ioc.get_executor(), *redis_cfg);
    std::unique_ptr<kafka::consumer> consumer;
    try {
        consumer = std::make_unique<kafka::consumer>(
            ioc.get_executor(), with_log_level(kafka::group_settings(s.kafka_brokers, s.group)),
            std::vector<std::string>{s.kafka_topic});
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-worker: " << e.what() << "\n";
        return 2;
    }

    int status = 0;
    asio::cancellation_signal stopping;
    // Cancels come on the control channels of the sessions in flight.
    redis::subscriber control(ioc.get_executor(), *redis_cfg);
    asio::co_spawn(ioc, control.async_run(), asio::detached);
    asio::co_spawn(
        ioc,
        [](redis::client* r, redis::subscriber* ctl, kafka::consumer* c, const settings* st,
           int* result) -> asio::awaitable<void> {
            try {
                co_await r->async_connect();
            } catch (const std::exception& e) {
                log::error("cannot connect to Redis: ", e.what());
                *result = 1;
                co_return;
            }
            asio::co_spawn(co_await asio::this_coro::executor, keep_redis(r), asio::detached);
            co_await ctl->async_wait_connected();
            std::cout << "worker ready" << std::endl;
            co_await run(r, ctl, c, st);
        }(&publisher, &control, consumer.get(), &s, &status),
        asio::bind_cancellation_slot(stopping.slot(), [&](std::exception_ptr) { ioc.stop(); }));
    // SIGTERM cancels the serving (its handlers are cancelled and awaited)
    // rather than stopping the loop under them: nothing is left suspended
    // that refers to the subscriber or the client once they go.
    asio::co_spawn(
        ioc,
        [](asio::cancellation_signal* stop) -> asio::awaitable<void> {
            co_await coro::async_wait_termination();
            stop->emit(asio::cancellation_type::terminal);
        }(&stopping),
        asio::detached);
    ioc.run();
    consumer->close();
    return status;
}
