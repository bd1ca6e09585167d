#include <ssebridge/coro/task_group.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

namespace ssebridge::coro {

task_group::task_group(executor ex, error_handler on_error)
    : ex_(ex)
    , on_error_(std::move(on_error))
    , empty_(ex)
    , shrunk_(ex) {
    empty_.set();
}

void task_group::spawn(awaitable<void> task) {
    auto it = signals_.emplace(signals_.end());
    empty_.reset();
    asio::co_spawn(ex_, std::move(task),
                   asio::bind_cancellation_slot(it->slot(), [this, it](std::exception_ptr e) {
                       signals_.erase(it);
                       if (e && on_error_)
                           on_error_(e);
                       shrunk_.notify();
                       if (signals_.empty())
                           empty_.set();
                   }));
}

void task_group::cancel() {
    for (auto& signal : signals_)
        signal.emit(asio::cancellation_type::terminal);
}

awaitable<void> task_group::async_wait() {
    return empty_.async_wait();
}

awaitable<void> task_group::async_wait_fewer_than(std::size_t n) {
    while (signals_.size() >= n) {
        co_await shrunk_.async_wait();
    }
}

} // namespace ssebridge::coro
