// ssebridge-publish: publish one event to a session from the shell.
#include <ssebridge/cli.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/worker/publish.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
using namespace ssebridge;

namespace {
const char* usage =
    "Usage: ssebridge-publish [--redis URL] SESSION_ID EVENT_TYPE [PAYLOAD_JSON]\n\n"
    "Publishes {\"event_type\": EVENT_TYPE, \"payload\": PAYLOAD_JSON} on sse_session:SESSION_ID,\n"
    "as a worker does, and prints how many gateways received it. PAYLOAD_JSON defaults to {}.\n"
    "Exit status: 0 published, 1 Redis unreachable, 2 bad arguments.\n\n"
    "Options:\n";
}

int main(int argc, char** argv) {
    std::string redis_url = "redis://127.0.0.1:6379";
    std::vector<cli::option> opts{cli::text("--redis", "SSEBRIDGE_REDIS", "Redis URL", redis_url)};
    cli::result parsed = cli::parse(
        opts, {argv + 1, argv + argc}, [](const char* n) { return std::getenv(n); }, true);
    if (parsed.help) {
        std::cout << usage << cli::describe(opts);
        return 0;
    }
    std::string problem = parsed.message;
    if (parsed.ok && (parsed.positional.size() < 2 || parsed.positional.size() > 3))
        problem = "expected SESSION_ID EVENT_TYPE [PAYLOAD_JSON]";
    std::string message;
    std::string error;
    auto cfg = redis::config::from_url(redis_url, error);
    if (problem.empty() && !cfg)
        problem = "--redis: " + error;
    if (problem.empty() && (parsed.positional[0].empty() || parsed.positional[1].empty()))
        problem = "SESSION_ID and EVENT_TYPE must not be empty";
    if (problem.empty()) {
        auto built = wire::event_message(
            parsed.positional[1], parsed.positional.size() == 3 ? parsed.positional[2] : "{}");
        if (built)
            message = std::move(*built);
        else
            problem = built.error().message();
    }
    if (!problem.empty()) {
        std::cerr << "ssebridge-publish: " << problem << " (see --help)\n";
        return 2;
    }

    asio::io_context ioc;
    redis::client client(ioc.get_executor(), *cfg);
    int status = 1;
    asio::co_spawn(
        ioc,
        [](redis::client* c, std::string channel, std::string msg,
           int* result) -> asio::awaitable<void> {
            co_await c->async_connect();
            asio::co_spawn(co_await asio::this_coro::executor, c->async_run(), asio::detached);
            std::int64_t receivers = co_await c->async_publish(channel, msg);
            std::cout << receivers << "\n";
            *result = 0;
            c->close();
        }(&client, wire::session_channel(parsed.positional[0]), message, &status),
        [&](std::exception_ptr e) {
            if (e)
                std::cerr << "ssebridge-publish: " << log::describe(e) << "\n";
        });
    ioc.run();
    return status;
}
