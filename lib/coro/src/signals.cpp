#include <ssebridge/coro/signals.hpp>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>

namespace ssebridge::coro {

awaitable<int> async_wait_signal(std::initializer_list<int> signals) {
    asio::signal_set set(co_await asio::this_coro::executor);
    for (int s : signals)
        set.add(s);
    int received = co_await set.async_wait(asio::use_awaitable);
    co_return received;
}

} // namespace ssebridge::coro
