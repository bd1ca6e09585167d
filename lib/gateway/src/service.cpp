#include <ssebridge/gateway/service.hpp>

#include <ssebridge/coro/signals.hpp>
#include <ssebridge/gateway/gateway.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/token.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::size_t thread_count(const config& cfg) noexcept {
    if (cfg.threads > 0)
        return cfg.threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

namespace {
std::size_t share(std::size_t limit, std::size_t shards) {
    return std::max<std::size_t>(1, (limit + shards - 1) / shards);
}
} // namespace

struct service::impl {
    struct shard {
        // One thread runs the loop; other threads only post to it (the
        // metrics of other shards, stop), which the scheduler's lock covers.
        asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
        std::unique_ptr<gateway> gw;
        bool done = false;
    };
    std::vector<std::unique_ptr<shard>> shards;
    std::atomic<bool> stopping{false};
    std::atomic<int> failures{0};
    std::atomic<std::size_t> running{0};

    ~impl() {
        while (!shards.empty()) // shard 0 holds the embedded Kafka the others use: last
            shards.pop_back();
    }
};

service::service(config cfg)
    : impl_(std::make_unique<impl>()) {
    const std::size_t n = thread_count(cfg);
    if (cfg.token_secret.empty())
        cfg.token_secret = wire::make_token_secret(); // one for all: a token opens every shard
    if (n > 1) {
        cfg.max_sessions = share(cfg.max_sessions, n);
        cfg.replay_memory = share(cfg.replay_memory, n);
        // The descriptors are the process's: the automatic limit is divided too.
        cfg.max_connections = share(connection_limit(cfg), n);
    }
    cfg.reuse_port = n > 1;
    for (std::size_t i = 0; i < n; ++i) {
        auto s = std::make_unique<impl::shard>();
        s->gw = std::make_unique<gateway>(s->ioc.get_executor(), cfg);
        if (i == 0) {
            // The others join shard 0's port and Kafka (its embedded mock, if any).
            tcp::endpoint ep = s->gw->local_endpoint();
            cfg.listen = (ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                               : ep.address().to_string()) +
                         ":" + std::to_string(ep.port());
            if (auto bootstrap = s->gw->embedded_kafka_bootstrap())
                cfg.kafka_brokers = *bootstrap;
        }
        impl_->shards.push_back(std::move(s));
    }
    if (n > 1) {
        std::vector<gateway*> all;
        for (auto& s : impl_->shards)
            all.push_back(s->gw.get());
        for (auto& s : impl_->shards)
            s->gw->join_shards(all);
    }
}

service::~service() = default;

tcp::endpoint service::local_endpoint() const {
    return impl_->shards.front()->gw->local_endpoint();
}

std::optional<std::string> service::embedded_kafka_bootstrap() const {
    return impl_->shards.front()->gw->embedded_kafka_bootstrap();
}

std::size_t service::shards() const noexcept {
    return impl_->shards.size();
}

void service::stop() {
    if (impl_->stopping.exchange(true))
        return;
    for (auto& s : impl_->shards)
        asio::post(s->ioc, [gw = s->gw.get()] { gw->stop(); });
}

int service::run(std::chrono::seconds grace) {
    auto& first = *impl_->shards.front();
    impl_->running = impl_->shards.size();
    for (auto& s : impl_->shards) {
        // A shard's thread ends with its gateway; shard 0's, which holds the
        // signal handler and the grace timer, with the last of them.
        asio::co_spawn(s->ioc, s->gw->async_run(),
                       [this, shard = s.get(), &first](std::exception_ptr e) {
                           if (e) { // one shard down: the process stops, not limps
                               log::failure(log::level::error, "gateway failed", e);
                               ++impl_->failures;
                               stop();
                           }
                           if (shard != &first)
                               shard->ioc.stop();
                           if (--impl_->running == 0)
                               asio::post(first.ioc, [&first] { first.ioc.stop(); });
                       });
    }
    // Signals arrive on shard 0: drain every shard, and after `grace` stop waiting.
    asio::co_spawn(
        first.ioc,
        [](service* self, std::chrono::seconds grace_period) -> coro::awaitable<void> {
            int signal = co_await coro::async_wait_termination();
            log::info("signal ", signal, ": stopping");
            self->stop();
            asio::steady_timer timer(co_await asio::this_coro::executor, grace_period);
            co_await timer.async_wait(asio::use_awaitable);
            log::warn("connections still open after ", grace_period.count(), " s: exiting anyway");
            for (auto& s : self->impl_->shards)
                s->ioc.stop();
        }(this, grace),
        asio::detached);
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < impl_->shards.size(); ++i)
        threads.emplace_back([s = impl_->shards[i].get()] { s->ioc.run(); });
    first.ioc.run();
    for (auto& t : threads)
        t.join();
    return impl_->failures.load() > 0 ? 1 : 0;
}

} // namespace ssebridge::gateway
