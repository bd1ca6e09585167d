#include <ssebridge/coro/event.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace ssebridge::coro {

awaitable<void> throw_if_cancelled() {
    asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

event::event(executor ex)
    : timer_(std::move(ex), clock::time_point::max()) {}

void event::set() {
    set_ = true;
    timer_.cancel();
}

awaitable<void> event::async_wait() {
    while (!set_) {
        co_await timer_.async_wait(use_tuple);
        if (!set_)
            co_await throw_if_cancelled();
    }
}

notifier::notifier(executor ex)
    : timer_(std::move(ex), clock::time_point::max()) {}

void notifier::notify() {
    notified_ = true;
    if (waiting_)
        timer_.cancel();
}

awaitable<bool> notifier::async_wait(clock::time_point deadline) {
    while (!notified_) {
        if (clock::now() >= deadline)
            co_return false;
        timer_.expires_at(deadline);
        waiting_ = true;
        auto [ec] = co_await timer_.async_wait(use_tuple);
        waiting_ = false;
        // An abort without a notification is our own cancellation.
        if (ec == asio::error::operation_aborted && !notified_)
            co_await throw_if_cancelled();
    }
    notified_ = false;
    co_return true;
}

} // namespace ssebridge::coro
