// ssebridge-gateway: the command-line front of ssebridge::gateway (DESIGN.md §5).
#include <ssebridge/gateway/service.hpp>
#include <ssebridge/log.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

using namespace ssebridge;

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = gateway::parse_config(args, [](const char* n) { return std::getenv(n); });
    if (!parsed) {
        std::cerr << parsed.error().message << "\n";
        return 2;
    }
    if (!parsed->cfg) {
        std::cout << parsed->help;
        return 0;
    }
    log::set_level(*log::level_from_name(parsed->cfg->log_level)); // checked by the flags
    log::set_format(*log::format_from_name(parsed->cfg->log_format));
    std::signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<gateway::service> service;
    try {
        service = std::make_unique<gateway::service>(*parsed->cfg);
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-gateway: " << e.what() << "\n";
        return 2;
    }
    if (auto bootstrap = service->embedded_kafka_bootstrap())
        std::cout << "kafka.bootstrap=" << *bootstrap << "\n";
    auto endpoint = service->local_endpoint();
    std::cout << "listening on "
              << (endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                             : endpoint.address().to_string())
              << ":" << endpoint.port() << std::endl;
    log::info("serving on ", service->shards(), " thread(s)");
    return service->run();
}
