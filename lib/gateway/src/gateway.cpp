#include "session.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/http/files.hpp>
#include <ssebridge/http/message.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/http.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <stdexcept>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A host name is resolved once, at start (I/O: a failure throws).
tcp::endpoint resolve_listen(coro::executor ex, const listen_address& at) {
    boost::system::error_code bad;
    auto address = asio::ip::make_address(at.host, bad);
    if (!bad)
        return {address, at.port};
    tcp::resolver resolver(ex);
    auto results = resolver.resolve(at.host, std::to_string(at.port), bad);
    if (bad || results.empty())
        throw std::invalid_argument("--listen host '" + at.host + "' does not resolve");
    return *results.begin();
}

std::unique_ptr<kafka::mock_cluster> make_mock(const config& cfg) {
    if (cfg.kafka_brokers != "embedded")
        return nullptr;
    auto mock = std::make_unique<kafka::mock_cluster>(1);
    mock->create_topic(cfg.kafka_topic, 1);
    return mock;
}

kafka::settings producer_settings(const std::string& bootstrap, const config& cfg) {
    return {
        {"bootstrap.servers", bootstrap},
        {"message.timeout.ms", std::to_string(std::llround(cfg.kafka_timeout * 1000))},
        // A body --max-body lets in fits, with the record's wrapper around it.
        {"message.max.bytes", std::to_string(std::max<std::size_t>(cfg.max_body + 4096, 1000000))},
        {"linger.ms", "1"},                // a session waits for its record: batch briefly only
        {"statistics.interval.ms", "500"}, // brokers up, for /readyz
        {"socket.nagle.disable", "true"},
        {"log_level", "4"},
    };
}

http::limits http_limits(const config& cfg) {
    http::limits lim;
    lim.max_body = cfg.max_body;
    lim.max_connections = connection_limit(cfg);
    lim.reuse_port = cfg.reuse_port;
    lim.write_timeout = coro::seconds(cfg.write_timeout);
    std::string_view origins = cfg.cors_origin;
    while (!origins.empty()) {
        std::string_view one = origins.substr(0, origins.find(','));
        origins.remove_prefix(std::min(origins.size(), one.size() + 1));
        while (!one.empty() && one.front() == ' ')
            one.remove_prefix(1);
        while (!one.empty() && one.back() == ' ')
            one.remove_suffix(1);
        if (!one.empty())
            lim.allowed_origins.emplace_back(one);
    }
    lim.allowed_request_headers = wire::http::cross_origin_request_headers;
    lim.exposed_headers = wire::http::cross_origin_exposed_headers;
    return lim;
}

http::response readiness(const gateway::state& st) {
    if (st.stopping)
        return http::error_response(503, "shutting down");
    if (!st.redis.subscriber.connected())
        return http::error_response(503, "Redis unavailable (subscriber)");
    if (!st.redis.commands.connected())
        return http::error_response(503, "Redis unavailable (commands)");
    if (!st.readiness.not_ready.empty())
        return http::error_response(503, st.readiness.not_ready);
    return http::response{200, "application/json", R"({"status":"ready"})", {}};
}

coro::awaitable<std::vector<prometheus::MetricFamily>> metrics_of(const gateway::state* st) {
    co_return collect_metrics(*st);
}

// Every shard's metrics, each read on its own thread, then summed.
coro::awaitable<void> serve_metrics(gateway::state& st, http::exchange& ex) {
    std::vector<gateway::state*> shards = st.shards;
    if (shards.empty())
        shards.push_back(&st);
    std::vector<std::vector<prometheus::MetricFamily>> each;
    for (gateway::state* shard : shards) {
        std::vector<prometheus::MetricFamily> families =
            co_await asio::co_spawn(shard->ex, metrics_of(shard), asio::use_awaitable);
        each.push_back(std::move(families));
    }
    http::response res{200, "text/plain; version=0.0.4", exposition(merge_shards(each)), {}};
    co_await ex.respond(std::move(res));
}

coro::awaitable<void> respond_ignoring_result(http::exchange& ex, http::response res) {
    co_await ex.respond(std::move(res));
}

} // namespace

session_table::session_table(coro::executor ex, const config& c)
    : streams{{c.max_queue, coro::seconds(c.ack_timeout), coro::seconds(c.idle_timeout),
               coro::seconds(c.keepalive), coro::seconds(c.write_timeout)}}
    , gone(ex)
    , replay_memory(ex, std::max<std::size_t>(c.replay_memory, 1))
    , replay_reads(ex, replay_reads_at_once) {}

redis_part::redis_part(coro::executor ex, const config& c)
    : subscriber(ex, redis_settings(c).value()) // (throws std::invalid_argument when bad)
    , commands(ex, redis_settings(c).value()) {}

kafka_part::kafka_part(coro::executor ex, const config& c)
    : mock(make_mock(c))
    , bootstrap(mock ? mock->bootstrap_servers() : c.kafka_brokers)
    , producer(std::move(ex), producer_settings(bootstrap, c)) {}

gateway::state::state(coro::executor ex, const config& c)
    : ex(ex)
    , cfg(c)
    , kafka(ex, c)
    , redis(ex, c)
    , server(ex, resolve_listen(ex, listen_settings(c).value()), http_limits(c))
    , sessions(ex, c)
    , token_secret(c.token_secret.empty() ? wire::make_token_secret() : c.token_secret)
    , background(ex,
                 [](std::exception_ptr e) {
                     log::failure(log::level::error, "gateway background task failed", e);
                 })
    , records(ex) {}

gateway::gateway(coro::executor ex, const config& cfg)
    : state_(std::make_unique<state>(ex, cfg)) {
    state& st = *state_;
    if (!cfg.static_dir.empty())
        http::serve_files(st.server, cfg.static_dir);
    st.redis.subscriber.on_batch_end([&st] { flush_streams(st); });
    st.server.route("POST", std::string(wire::http::sessions_route),
                    [&st](http::exchange& ex) { return serve_session(st, ex); });
    st.server.route("GET", std::string(wire::http::events_route),
                    [&st](http::exchange& ex) { return serve_events(st, ex); });
    st.server.route("POST", std::string(wire::http::cancel_route),
                    [&st](http::exchange& ex) { return serve_cancel(st, ex); });
    st.server.route("POST", std::string(wire::http::chat_route),
                    [&st](http::exchange& ex) { return serve_chat(st, ex); });
    st.server.route("GET", std::string(wire::http::chat_stream_route),
                    [&st](http::exchange& ex) { return serve_chat_stream(st, ex); });
    st.server.route("POST", std::string(wire::http::chat_cancel_route),
                    [&st](http::exchange& ex) { return serve_chat_cancel(st, ex); });
    // Plain functions returning the awaitable: no coroutine lambdas (their
    // captures and g++ 12's handling of temporaries in them are traps).
    st.server.route("GET", "/metrics", [&st](http::exchange& ex) { return serve_metrics(st, ex); });
    // Liveness: the process serves HTTP. Restarting it would not bring Redis back.
    st.server.route("GET", "/healthz", [](http::exchange& ex) {
        return respond_ignoring_result(
            ex, http::response{200, "application/json", R"({"status":"ok"})", {}});
    });
    // Readiness: new sessions can start here now (a load balancer's check).
    st.server.route("GET", "/readyz", [&st](http::exchange& ex) {
        return respond_ignoring_result(ex, readiness(st));
    });
}

gateway::~gateway() = default;

tcp::endpoint gateway::local_endpoint() const {
    return state_->server.local_endpoint();
}

std::optional<std::string> gateway::embedded_kafka_bootstrap() const {
    if (!state_->kafka.mock)
        return std::nullopt;
    return state_->kafka.bootstrap;
}

coro::awaitable<void> gateway::async_run() {
    state& st = *state_;
    st.background.spawn(st.redis.subscriber.async_run());
    st.background.spawn(st.redis.commands.async_keep_connected());
    st.background.spawn(st.kafka.producer.async_run());
    st.background.spawn(watch_sessions(st));
    st.background.spawn(watch_readiness(st));
    co_await st.server.async_run();
    while (st.sessions.objects > 0) // their connections are gone; their last handlers run
        co_await st.sessions.gone.async_wait();
    // What sessions decided before the drain still reaches the log.
    co_await coro::with_timeout(st.records.async_wait(), std::chrono::seconds(2));
    st.background.cancel();
    co_await st.background.async_wait();
}

void gateway::stop() {
    state& st = *state_;
    if (st.stopping)
        return;
    st.stopping = true;
    st.server.stop();
    for (session& s : st.sessions.live)
        s.shutdown(); // (it ends later, in its operation: the list holds)
}

std::size_t gateway::live_sessions() const noexcept {
    return state_->sessions.live_count;
}
std::size_t session_subscriptions(const gateway::state& st) noexcept {
    std::size_t canaries = st.redis.subscriber.connected() ? st.readiness.canaries : 0;
    return st.redis.subscriber.size() - std::min(canaries, st.redis.subscriber.size());
}

std::size_t gateway::subscriptions() const noexcept {
    return session_subscriptions(*state_);
}
bool gateway::redis_connected() const noexcept {
    return state_->redis.subscriber.connected();
}
const counters& gateway::stats() const noexcept {
    return state_->stats;
}

void gateway::join_shards(std::vector<gateway*> shards) {
    state_->shards.clear();
    for (gateway* g : shards)
        state_->shards.push_back(g->state_.get());
}

} // namespace ssebridge::gateway
