#include <ssebridge/redis/subscriber.hpp>

#include "subscriber_backend.hpp"

namespace ssebridge::redis {

subscriber::subscription::subscription(detail::channel_subscriber* owner, std::string channel,
                                       std::uint64_t id)
    : owner_(owner)
    , channel_(std::move(channel))
    , id_(id) {}

subscriber::subscription::subscription(subscription&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr))
    , channel_(std::move(other.channel_))
    , id_(other.id_) {}

subscriber::subscription& subscriber::subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
        channel_ = std::move(other.channel_);
        id_ = other.id_;
    }
    return *this;
}

subscriber::subscription::~subscription() {
    reset();
}

void subscriber::subscription::reset() {
    if (owner_)
        std::exchange(owner_, nullptr)->unsubscribe(channel_, id_);
}

namespace {
std::unique_ptr<detail::subscriber_backend> make_backend(coro::executor ex, config cfg) {
    if (cfg.cluster.empty())
        return std::make_unique<detail::channel_subscriber>(ex, std::move(cfg), false);
    return std::make_unique<detail::cluster_subscriber>(ex, std::move(cfg));
}
} // namespace

subscriber::subscriber(coro::executor ex, config cfg)
    : impl_(make_backend(ex, std::move(cfg))) {}

subscriber::~subscriber() = default;

coro::awaitable<void> subscriber::async_run() {
    return impl_->async_run();
}

coro::awaitable<subscriber::subscription> subscriber::async_subscribe(std::string channel,
                                                                      sink& target) {
    return impl_->async_subscribe(std::move(channel), target);
}

bool subscriber::connected() const noexcept {
    return impl_->connected();
}

std::size_t subscriber::size() const noexcept {
    return impl_->size();
}

subscriber::counters subscriber::stats() const noexcept {
    return impl_->stats();
}

std::vector<std::string> subscriber::channels_on_every_master(std::string_view prefix) const {
    return impl_->channels_on_every_master(prefix);
}

coro::awaitable<void> subscriber::async_wait_connected() {
    return impl_->async_wait_connected();
}

void subscriber::on_batch_end(std::function<void()> f) {
    impl_->on_batch_end(std::move(f));
}

} // namespace ssebridge::redis
