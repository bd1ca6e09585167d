// A shared allowance (bytes, say) that coroutines take from and give back,
// first come, first served.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <cstddef>
#include <list>

namespace ssebridge::coro {

/// Bounds what many coroutines hold at once: each `async_acquire`s the
/// units it is about to hold and gives them back by dropping its `lease`.
/// Requests are granted in the order they came, so a big one is not passed
/// by small ones (nobody starves); one larger than the whole capacity is
/// granted when nothing else is held. Single-threaded: use it from its
/// executor only. The budget must outlive its leases and waiters.
class budget {
public:
    /// Units taken from a budget; given back when destroyed or `reset`.
    class lease {
    public:
        lease() = default;
        lease(lease&& other) noexcept;
        lease& operator=(lease&& other) noexcept;
        ~lease() { reset(); }

        [[nodiscard]] std::size_t units() const noexcept { return units_; }
        /// Holds `units` from now on, at once: what it holds beyond the
        /// capacity makes the next requests wait longer, it never waits
        /// itself (a page turned out bigger than asked for).
        void resize(std::size_t units) noexcept;
        void reset() noexcept;

    private:
        friend class budget;
        lease(budget* owner, std::size_t units) noexcept
            : owner_(owner)
            , units_(units) {}
        budget* owner_ = nullptr;
        std::size_t units_ = 0;
    };

    budget(executor ex, std::size_t capacity);
    budget(const budget&) = delete;
    budget& operator=(const budget&) = delete;

    /// Waits until `units` are free and every earlier request was granted,
    /// then takes them. Cancellation: terminal and partial; throws
    /// `operation_aborted` and leaves the queue (what was granted meanwhile
    /// is given back).
    awaitable<lease> async_acquire(std::size_t units);

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
    /// Requests waiting for their turn.
    [[nodiscard]] std::size_t waiting() const noexcept { return queue_.size(); }

private:
    struct waiter;
    [[nodiscard]] bool fits(std::size_t units) const noexcept {
        return in_use_ == 0 || in_use_ + units <= capacity_;
    }
    void give_back(std::size_t units) noexcept;

    executor ex_;
    std::size_t capacity_;
    std::size_t in_use_ = 0;
    std::list<waiter*> queue_;
};

} // namespace ssebridge::coro
