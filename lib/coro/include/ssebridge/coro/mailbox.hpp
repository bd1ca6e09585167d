// A bounded single-consumer mailbox: producers never suspend, the consumer awaits.
#pragma once

#include <ssebridge/coro/event.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace ssebridge::coro {

enum class push_result { ok, full, closed };

/// Items pushed by any number of producers on the owning thread, taken in
/// batches by one consumer coroutine.
///
/// - `push` never suspends: when `capacity` items are waiting it returns
///   `push_result::full` and the caller decides what a full mailbox means
///   (drop, or cut the slow consumer off).
/// - `close()` lets the consumer drain what is queued, then see `closed()`.
/// - No allocation until the first push, so idle mailboxes cost a few words.
///
/// Cancellation of `async_wait` (terminal or partial) throws
/// `operation_aborted` and loses nothing: items stay queued.
template <class T>
class mailbox {
public:
    mailbox(executor ex, std::size_t capacity)
        : ready_(std::move(ex))
        , capacity_(capacity) {}

    push_result push(T item) {
        if (closed_)
            return push_result::closed;
        if (items_.size() >= capacity_)
            return push_result::full;
        items_.push_back(std::move(item));
        if (items_.size() == 1)
            ready_.notify();
        return push_result::ok;
    }

    /// No more pushes; the consumer is woken and sees the items left, then closed().
    void close() {
        if (!closed_) {
            closed_ = true;
            ready_.notify();
        }
    }

    [[nodiscard]] bool closed() const noexcept { return closed_; }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// Waits until an item is queued or the mailbox is closed (true), or
    /// until `deadline` passes (false).
    awaitable<bool> async_wait(clock::time_point deadline = clock::time_point::max()) {
        while (items_.empty() && !closed_) {
            bool notified = co_await ready_.async_wait(deadline);
            if (!notified)
                co_return false;
        }
        co_return true;
    }

    /// Moves every queued item into `out` (which is cleared first) in push order.
    void take_all(std::vector<T>& out) {
        out.clear();
        std::swap(out, items_);
    }

    /// Drops every queued item.
    void clear() noexcept { items_.clear(); }

private:
    notifier ready_;
    std::vector<T> items_;
    std::size_t capacity_;
    bool closed_ = false;
};

} // namespace ssebridge::coro
