#include "support/run.hpp"

#include <boost/asio/executor_work_guard.hpp>

namespace ssebridge::test {

void run_until(asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::steady_clock::duration timeout) {
    auto guard = asio::make_work_guard(ioc);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (ioc.stopped())
        ioc.restart();
    while (!done()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            throw std::runtime_error("test step timed out");
        ioc.run_one_for(deadline - now);
    }
}

bool eventually(asio::io_context& ioc, const std::function<bool()>& condition,
                std::chrono::steady_clock::duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        run(ioc, sleep_for(10ms));
    }
    return true;
}

coro::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

} // namespace ssebridge::test
