// The bench's shared vocabulary: its settings and the names every part uses.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge::bench {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

/// What a run is asked to do (the command line; see --help).
struct settings {
    std::string scenario = "throughput";
    std::string target = "ssebridge";       ///< or "sse": any server, by URL templates
    std::string gateway = "127.0.0.1:8080"; ///< or several, comma-separated: streams round robin
    std::string redis = "redis://127.0.0.1:6379";
    std::string redis_cluster; ///< HOST:PORT,…: publish to a Redis Cluster (SPUBLISH by slot)
    std::string subscribe_url; ///< target sse: GET, `{id}` replaced
    std::string publish_url;   ///< target sse: POST the event, `{id}` replaced
    std::string kafka_brokers; ///< setup: where the gateway produces requests
    std::string kafka_topic = "react_requests";
    std::size_t sessions = 1000;
    std::size_t events = 100;      ///< per session (throughput, limit)
    double rate = 0;               ///< events/s in all; 0: as fast as possible
    double duration = 10;          ///< seconds (latency, slow, idle, setup)
    double slow_share = 0.1;       ///< slow: share of clients that stop reading
    std::size_t payload = 64;      ///< bytes of padding per event
    std::size_t publishers = 4;    ///< connections publishing
    std::size_t gateway_pid = 0;   ///< whose RSS to read
    std::size_t in_flight = 20000; ///< events published but not yet received, at most
    std::size_t concurrency = 200; ///< setup: clients opening sessions at once
    std::string publish =
        "plain";            ///< plain PUBLISH, record (the workers' script), pair (XADD+PUBLISH)
    double cut_share = 0.1; ///< resume: share of streams cut once and resumed; soak: hung up
    std::string resume_with = "get";  ///< resume: GET …/events, or "post": the POST again
    std::string profile = "seed";     ///< or "ai-sdk": POST /v1/chat, the UI message stream
    std::string expect;               ///< soak: the answer the worker streams (FinalAnswerStream)
    std::size_t storm_readers = 500;  ///< storm: clients replaying a log at once
    std::size_t storm_events = 10000; ///< storm: events in that log
    std::string json_out;
};

} // namespace ssebridge::bench
