// An allocator for Asio operations that stay pending for hours.
#pragma once

#include <cstddef>
#include <memory>

namespace ssebridge::coro {

/// `std::allocator`, under a type of its own. Asio gives a handler without
/// an allocator (or with `std::allocator`) memory from its per-thread
/// recycling cache, which hands out the block a larger operation freed:
/// right for an operation that completes soon, wasteful for one that waits
/// for as long as a connection lasts (a hang-up watch). Bound to such a
/// handler (`asio::bind_allocator(coro::exact_allocator<void>(), handler)`),
/// the operation gets a block of its own size.
template <class T>
struct exact_allocator {
    using value_type = T;

    exact_allocator() noexcept = default;
    template <class U>
    exact_allocator(const exact_allocator<U>&) noexcept {} // NOLINT: rebinding converts

    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }

    template <class U>
    bool operator==(const exact_allocator<U>&) const noexcept {
        return true;
    }
};

} // namespace ssebridge::coro
