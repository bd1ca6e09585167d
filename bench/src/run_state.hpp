// One run: its settings, its targets, its publishers and what it measured.
#pragma once

#include "core.hpp"
#include "measure.hpp"
#include "publishers.hpp"

#include <ssebridge/redis/config.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <unistd.h>
#include <vector>

namespace ssebridge::bench {

struct run_state {
    explicit run_state(coro::executor ex)
        : got(std::move(ex)) {}

    settings s;
    redis::config redis_cfg;
    tcp::endpoint gateway;               ///< the first of `gateways`
    std::vector<tcp::endpoint> gateways; ///< streams are opened on them in turn
    std::optional<url_template> subscribe_url;
    std::optional<url_template> publish_url;
    std::string run_id = std::to_string(::getpid()) + "x" + std::to_string(now_ns() % 1000000007);
    std::vector<std::unique_ptr<event_publisher>> publishers;
    results got;
    std::size_t peak_rss_kib = 0;
    boost::json::object report;
    struct {
        std::size_t cut = 0;                  ///< streams cut once and resumed
        std::size_t duplicated = 0;           ///< events a reader got twice
        std::vector<std::size_t> unique;      ///< events each stream got (not the ack)
        std::vector<std::uint32_t> resume_us; ///< reconnect → first replayed event
    } resume;
};

} // namespace ssebridge::bench
