// ssebridge-publish: publish one event to a session from the shell.
#include <ssebridge/cli.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/worker/publish.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
using namespace ssebridge;

namespace {
const char* usage =
    "Usage: ssebridge-publish [--redis URL] SESSION_ID EVENT_TYPE [PAYLOAD_JSON]\n\n"
    "Records {\"event_type\": EVENT_TYPE, \"payload\": PAYLOAD_JSON} in the session's log and\n"
    "publishes it on sse_session:SESSION_ID with its id, as a worker does; prints how many\n"
    "gateways received it, then id=<the event's id>. PAYLOAD_JSON defaults to {}.\n"
    "Exit status: 0 published, 1 Redis unreachable, 2 bad arguments.\n\n";
}

int main(int argc, char** argv) {
    std::string redis_url = "redis://127.0.0.1:6379";
    std::string redis_cluster;
    std::size_t log_max_len = worker::recording{}.max_len;
    double log_ttl = static_cast<double>(worker::recording{}.ttl.count());
    std::vector<cli::option> opts = cli::redis_options(redis_url, redis_cluster, nullptr) +
                                    cli::recording_options(log_max_len, log_ttl);
    cli::result<cli::parsed> parsed = cli::parse(
        opts, {argv + 1, argv + argc}, [](const char* n) { return std::getenv(n); }, true);
    if (parsed && parsed->help) {
        std::cout << usage << cli::describe(opts);
        return 0;
    }
    std::string problem = parsed ? std::string() : parsed.error().message;
    std::vector<std::string> positional = parsed ? parsed->positional : std::vector<std::string>{};
    if (problem.empty() && (positional.size() < 2 || positional.size() > 3))
        problem = "expected SESSION_ID EVENT_TYPE [PAYLOAD_JSON]";
    auto cfg = redis::config::from_flags(redis_url, redis_cluster);
    if (problem.empty() && !cfg)
        problem = "--redis or --redis-cluster: " + cfg.error().message();
    if (problem.empty() && (positional[0].empty() || positional[1].empty()))
        problem = "SESSION_ID and EVENT_TYPE must not be empty";
    std::string payload = positional.size() == 3 ? positional[2] : "{}";
    if (problem.empty()) {
        if (auto checked = wire::event_message(positional[1], payload); !checked)
            problem = checked.error().message();
    }
    if (!problem.empty()) {
        std::cerr << "ssebridge-publish: " << problem << " (see --help)\n";
        return 2;
    }
    worker::recording keep{log_max_len,
                           std::chrono::seconds(static_cast<long>(std::ceil(log_ttl)))};

    asio::io_context ioc;
    redis::client client(ioc.get_executor(), *cfg);
    int status = 1;
    asio::co_spawn(
        ioc,
        [](redis::client* c, std::string id, std::string type, std::string payload,
           worker::recording log, int* result) -> asio::awaitable<void> {
            co_await c->async_connect();
            asio::co_spawn(co_await asio::this_coro::executor, c->async_run(), asio::detached);
            worker::published p = co_await worker::publish_event(*c, id, type, payload, log);
            std::cout << p.receivers << "\nid=" << p.id << "\n";
            *result = 0;
            c->close();
        }(&client, positional[0], positional[1], payload, keep, &status),
        [&](std::exception_ptr e) {
            if (e)
                std::cerr << "ssebridge-publish: " << log::describe(e) << "\n";
        });
    ioc.run();
    return status;
}
