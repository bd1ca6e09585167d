#include <ssebridge/coro/budget.hpp>
#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/exact_allocator.hpp>
#include <ssebridge/coro/signals.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>

#define BOOST_TEST_MODULE coro
#include <boost/test/unit_test.hpp>

#include "support/run.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <csignal>
#include <cstdlib>
#include <new>

// Counts the allocations of this test binary, for the allocator tests.
namespace {
bool counting_allocations = false;
std::size_t allocations = 0;
} // namespace

void* operator new(std::size_t n) {
    if (counting_allocations)
        ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

using namespace ssebridge;
using namespace ssebridge::test;
using namespace boost::asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

namespace {

bool is_aborted(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        return x.code() == boost::asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(notifier_keeps_a_notification_made_before_the_wait) {
    asio::io_context ioc;
    coro::notifier n(ioc.get_executor());
    n.notify();
    BOOST_TEST(run(ioc, n.async_wait(clock_type::now() + 1s), 5s));
    BOOST_TEST(!run(ioc, n.async_wait(clock_type::now() + 10ms), 5s)); // consumed
}

BOOST_AUTO_TEST_CASE(event_wakes_every_waiter_and_cancels_one_alone) {
    asio::io_context ioc;
    coro::event ev(ioc.get_executor());
    int woken = 0;
    std::vector<std::exception_ptr> errors;
    auto waiter = [](coro::event& e, int& count) -> coro::awaitable<void> {
        co_await e.async_wait();
        ++count;
    };
    asio::co_spawn(ioc, waiter(ev, woken), [&](std::exception_ptr e) { errors.push_back(e); });
    asio::co_spawn(ioc, waiter(ev, woken), [&](std::exception_ptr e) { errors.push_back(e); });
    // A third waiter loses a race and is cancelled; the others must not notice.
    bool third = run(ioc, coro::with_timeout(waiter(ev, woken), 20ms), 5s);
    BOOST_TEST(!third);
    BOOST_TEST(woken == 0);
    ev.set();
    run_until(
        ioc, [&] { return errors.size() == 2; }, 5s);
    BOOST_TEST(woken == 2);
    BOOST_TEST(!errors[0]);
    BOOST_TEST(!errors[1]);
    run(ioc, ev.async_wait(), 1s); // stays set
}

namespace {
/// Takes `units` from `b`, notes its turn in `order`, holds them until `release`.
coro::awaitable<void> hold(coro::budget& b, std::size_t units, int name, std::vector<int>& order,
                           coro::event& release) {
    coro::budget::lease lease = co_await b.async_acquire(units);
    BOOST_TEST(lease.units() == units);
    order.push_back(name);
    co_await release.async_wait();
}
} // namespace

BOOST_AUTO_TEST_CASE(budget_grants_in_order_and_a_big_request_is_not_passed) {
    asio::io_context ioc;
    coro::budget b(ioc.get_executor(), 100);
    coro::event first_done(ioc.get_executor()), others_done(ioc.get_executor());
    std::vector<int> order;
    std::vector<std::exception_ptr> errors;
    auto note = [&](std::exception_ptr e) {
        errors.push_back(e);
    };
    asio::co_spawn(ioc, hold(b, 60, 1, order, first_done), note);
    run_until(
        ioc, [&] { return order.size() == 1; }, 5s);
    // 80 does not fit beside 60; 10 would, but it came after 80: it waits its turn.
    asio::co_spawn(ioc, hold(b, 80, 2, order, others_done), note);
    asio::co_spawn(ioc, hold(b, 10, 3, order, others_done), note);
    run(ioc, coro::with_timeout(first_done.async_wait(), 50ms), 5s); // (lets them queue)
    BOOST_TEST(order == std::vector<int>{1}, boost::test_tools::per_element());
    BOOST_TEST(b.waiting() == 2u);
    BOOST_TEST(b.in_use() == 60u);
    first_done.set();
    run_until(
        ioc, [&] { return order.size() == 3; }, 5s);
    BOOST_TEST(order == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
    BOOST_TEST(b.in_use() == 90u);
    // More than the whole capacity: granted once nothing else is held.
    asio::co_spawn(ioc, hold(b, 500, 4, order, others_done), note);
    run(ioc, coro::with_timeout(first_done.async_wait(), 0ms), 5s);
    BOOST_TEST(order.size() == 3u);
    others_done.set();
    run_until(
        ioc, [&] { return errors.size() == 4; }, 5s);
    BOOST_TEST(order.back() == 4);
    BOOST_TEST(b.in_use() == 0u);
    for (auto& e : errors)
        BOOST_TEST(!e);
}

BOOST_AUTO_TEST_CASE(budget_waiter_cancelled_leaves_the_queue_and_a_lease_resizes) {
    asio::io_context ioc;
    coro::budget b(ioc.get_executor(), 100);
    coro::budget::lease held = run(ioc, b.async_acquire(70), 5s);
    // A 50 waits behind the 70, loses a race and leaves: the 20 behind it is let in.
    std::vector<int> order;
    coro::event release(ioc.get_executor());
    bool big_done = false;
    std::exception_ptr big_error;
    asio::co_spawn(ioc, coro::with_timeout(hold(b, 50, 1, order, release), 30ms),
                   [&](std::exception_ptr e, bool) {
                       big_error = e;
                       big_done = true;
                   });
    asio::co_spawn(ioc, hold(b, 20, 2, order, release), asio::detached);
    run_until(
        ioc, [&] { return big_done; }, 5s);
    BOOST_TEST(!big_error);
    run_until(
        ioc, [&] { return order.size() == 1; }, 5s);
    BOOST_TEST(order.front() == 2);
    BOOST_TEST(b.waiting() == 0u);
    BOOST_TEST(b.in_use() == 90u);
    // A page bigger than asked for: held at once, and the next wait is longer.
    held.resize(200);
    BOOST_TEST(b.in_use() == 220u);
    held.resize(10);
    BOOST_TEST(b.in_use() == 30u);
    held.reset();
    BOOST_TEST(b.in_use() == 20u);
    release.set();
    run_until(
        ioc, [&] { return b.in_use() == 0; }, 5s);
}

BOOST_AUTO_TEST_CASE(with_timeout_returns_the_result_or_cancels_the_operation) {
    asio::io_context ioc;
    auto slow = [](int value, clock_type::duration d, bool& cancelled) -> coro::awaitable<int> {
        try {
            co_await sleep_for(d);
        } catch (const boost::system::system_error&) {
            cancelled = true;
            throw;
        }
        co_return value;
    };
    bool cancelled = false;
    std::optional<int> fast = run(ioc, coro::with_timeout(slow(1, 5ms, cancelled), 1s), 5s);
    BOOST_TEST(fast.value_or(0) == 1);
    std::optional<int> late = run(ioc, coro::with_timeout(slow(2, 10s, cancelled), 20ms), 5s);
    BOOST_TEST(!late.has_value());
    BOOST_TEST(cancelled);
}

BOOST_AUTO_TEST_CASE(with_timeout_propagates_a_failure_at_once) {
    asio::io_context ioc;
    auto failing = []() -> coro::awaitable<int> {
        co_await sleep_for(5ms);
        throw std::runtime_error("failed");
    };
    auto start = clock_type::now();
    BOOST_CHECK_THROW(run(ioc, coro::with_timeout(failing(), 10s), 5s), std::runtime_error);
    BOOST_TEST((clock_type::now() - start < 1s)); // not after the timeout
}

BOOST_AUTO_TEST_CASE(signal_wait_returns_the_signal) {
    asio::io_context ioc;
    int got = 0;
    asio::co_spawn(ioc, coro::async_wait_signal({SIGUSR1}),
                   [&](std::exception_ptr, int s) { got = s; });
    ioc.poll(); // install the handler
    std::raise(SIGUSR1);
    run_until(
        ioc, [&] { return got != 0; }, 5s);
    BOOST_TEST(got == SIGUSR1);
}

BOOST_AUTO_TEST_CASE(task_group_cancels_and_awaits_all) {
    asio::io_context ioc;
    std::vector<std::exception_ptr> errors;
    coro::task_group group(ioc.get_executor(), [&](std::exception_ptr e) { errors.push_back(e); });
    for (int i = 0; i < 3; ++i)
        group.spawn(sleep_for(1h));
    group.spawn([]() -> coro::awaitable<void> {
        co_return;
    }());
    run_until(
        ioc, [&] { return group.size() == 3; }, 5s);
    group.cancel();
    run(ioc, group.async_wait(), 5s);
    BOOST_TEST(group.size() == 0u);
    BOOST_TEST(errors.size() == 3u);
    for (auto& e : errors)
        BOOST_TEST(is_aborted(e));
}

// Asio lends a small operation the block a larger one freed (its per-thread
// cache); an operation bound to exact_allocator gets one of its own size.
BOOST_AUTO_TEST_CASE(an_operation_bound_to_exact_allocator_gets_a_block_of_its_own) {
    asio::io_context ioc;
    asio::steady_timer large(ioc, std::chrono::milliseconds(0));
    asio::steady_timer small(ioc, std::chrono::hours(1));
    std::array<char, 2048> capture{};
    asio::post(ioc,
               [&] { large.async_wait([capture](boost::system::error_code) { (void)capture; }); });
    ioc.run(); // the large operation's block is back in the cache
    ioc.restart();

    std::size_t with_the_cache = 0;
    std::size_t with_exact = 0;
    asio::post(ioc, [&] {
        allocations = 0;
        counting_allocations = true;
        small.async_wait([](boost::system::error_code) {});
        with_the_cache = allocations;
        counting_allocations = false;
        small.cancel(); // its block goes back to the cache once it completes
    });
    ioc.run();
    ioc.restart();
    asio::post(ioc, [&] {
        small.expires_after(std::chrono::hours(1));
        allocations = 0;
        counting_allocations = true;
        small.async_wait(
            asio::bind_allocator(coro::exact_allocator<void>(), [](boost::system::error_code) {}));
        with_exact = allocations;
        counting_allocations = false;
        small.cancel();
    });
    ioc.run();
    BOOST_TEST(with_the_cache == 0u);
    BOOST_TEST(with_exact == 1u);
}
