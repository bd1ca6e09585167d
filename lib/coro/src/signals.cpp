#include <ssebridge/coro/signals.hpp>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>

#include <csignal>

namespace ssebridge::coro {

awaitable<int> async_wait_signal(std::vector<int> signals) {
    asio::signal_set set(co_await asio::this_coro::executor);
    for (int s : signals)
        set.add(s);
    int received = co_await set.async_wait(asio::use_awaitable);
    co_return received;
}

// Not a coroutine: g++ 12 cannot keep a braced list in a coroutine frame.
awaitable<int> async_wait_termination() {
    return async_wait_signal({SIGTERM, SIGINT});
}

} // namespace ssebridge::coro
