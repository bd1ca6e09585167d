#include <ssebridge/coro/budget.hpp>

#include <ssebridge/coro/event.hpp>

#include <utility>

namespace ssebridge::coro {

struct budget::waiter {
    explicit waiter(executor ex, std::size_t n)
        : granted(std::move(ex))
        , units(n) {}
    event granted;
    std::size_t units;
};

budget::lease::lease(lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr))
    , units_(std::exchange(other.units_, 0)) {}

budget::lease& budget::lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
        units_ = std::exchange(other.units_, 0);
    }
    return *this;
}

void budget::lease::resize(std::size_t units) noexcept {
    if (!owner_)
        return;
    if (units >= units_) {
        owner_->in_use_ += units - units_;
    } else {
        owner_->give_back(units_ - units);
    }
    units_ = units;
}

void budget::lease::reset() noexcept {
    if (owner_)
        std::exchange(owner_, nullptr)->give_back(std::exchange(units_, 0));
}

budget::budget(executor ex, std::size_t capacity)
    : ex_(std::move(ex))
    , capacity_(capacity) {}

void budget::give_back(std::size_t units) noexcept {
    in_use_ -= units;
    while (!queue_.empty() && fits(queue_.front()->units)) {
        waiter* next = queue_.front();
        queue_.pop_front();
        in_use_ += next->units;
        next->granted.set();
    }
}

awaitable<budget::lease> budget::async_acquire(std::size_t units) {
    if (queue_.empty() && fits(units)) {
        in_use_ += units;
        co_return lease(this, units);
    }
    waiter w(ex_, units);
    auto place = queue_.insert(queue_.end(), &w);
    try {
        co_await w.granted.async_wait();
    } catch (...) {
        // Cancelled before its turn: out of the queue (granted it is not,
        // or the wait would have returned).
        queue_.erase(place);
        give_back(0); // those behind it may fit now
        throw;
    }
    co_return lease(this, units);
}

} // namespace ssebridge::coro
