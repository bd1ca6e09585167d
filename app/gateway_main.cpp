// ssebridge-gateway: the command-line front of ssebridge::gateway (DESIGN.md §5).
#include <ssebridge/coro/signals.hpp>
#include <ssebridge/gateway/gateway.hpp>
#include <ssebridge/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
using namespace ssebridge;

namespace {

// On SIGTERM or SIGINT: stop gracefully, and give up waiting after a while.
coro::awaitable<void> stop_on_signal(gateway::gateway* gw, asio::io_context* ioc) {
    int signal = co_await coro::async_wait_termination();
    log::info("signal ", signal, ": stopping");
    gw->stop();
    asio::steady_timer grace(co_await asio::this_coro::executor, std::chrono::seconds(10));
    co_await grace.async_wait(asio::use_awaitable);
    log::warn("connections still open after 10 s: exiting anyway");
    ioc->stop();
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    gateway::parsed_config parsed =
        gateway::parse_config(args, [](const char* n) { return std::getenv(n); });
    if (!parsed.cfg) {
        (parsed.help ? std::cout : std::cerr) << parsed.message << (parsed.help ? "" : "\n");
        return parsed.help ? 0 : 2;
    }
    const gateway::config& cfg = *parsed.cfg;
    log::set_level(log::level_from_name(cfg.log_level));
    std::signal(SIGPIPE, SIG_IGN);

    // One thread runs the loop; no other thread starts I/O on it (librdkafka
    // and signals wake it through pipes), so the reactor needs no locks.
    asio::io_context ioc(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
    std::unique_ptr<gateway::gateway> gw;
    try {
        gw = std::make_unique<gateway::gateway>(ioc.get_executor(), cfg);
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-gateway: " << e.what() << "\n";
        return 2;
    }
    if (auto bootstrap = gw->embedded_kafka_bootstrap())
        std::cout << "kafka.bootstrap=" << *bootstrap << "\n";
    auto endpoint = gw->local_endpoint();
    std::cout << "listening on "
              << (endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                             : endpoint.address().to_string())
              << ":" << endpoint.port() << std::endl;

    int status = 0;
    asio::co_spawn(ioc, gw->async_run(), [&](std::exception_ptr e) {
        if (e) {
            log::failure(log::level::error, "gateway failed", e);
            status = 1;
        }
        ioc.stop(); // done: do not wait for the grace timer
    });
    asio::co_spawn(ioc, stop_on_signal(gw.get(), &ioc), asio::detached);
    ioc.run();
    return status;
}
