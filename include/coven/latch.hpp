#pragma once
// coven::latch: a single-use countdown that tasks wait to reach zero (std::latch for tasks).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace coven {

/// What latch::statistics() reports.
struct latch_statistics {
    std::ptrdiff_t count = 0;   ///< what is left to count down; 0: open
    std::size_t waiting = 0;    ///< tasks parked in wait() or arrive_and_wait()
    std::uint64_t parked = 0;   ///< waits that had to park (the others found it open)
    std::uint64_t released = 0; ///< waiters woken when the count reached zero
};

/// A countdown for tasks of one loop, used once (std::latch): it starts at `expected`,
/// count_down() lowers it, and once it reaches zero it stays open: every task waiting in wait()
/// goes on, in the order they came, and later waits return at once. It never counts up again;
/// for a reusable rendezvous use coven::barrier.
///
/// **Cancellation:** a waiter that is cancelled (or interrupted) while the count is above zero
/// leaves the queue and raises cancelled_error; the others still wake at zero. One woken at zero
/// whose task was cancelled before it ran raises cancelled_error too; the latch stays open for
/// the others (there is nothing to pass on). arrive_and_wait() counts down before it waits, and
/// that count stays down if the wait is then cancelled: the arrival happened, only the wait is
/// given up. A wait that finds the latch open does not suspend, so it does not see a pending
/// cancellation. A latch destroyed while tasks wait in it (or before a waiter it woke has run)
/// makes their waits raise usage_error instead of hanging.
/// **Throws:** usage_error for a negative `expected`, or a count_down() below zero.
/// **Thread safety:** the loop's thread only; tasks of one loop at a time.
/// **Example:**
/// ```
/// coven::latch loaded(3);
/// for (auto& part : parts) loop.create_task(load(part, loaded)); // each calls loaded.count_down()
/// co_await loaded.wait(); // all three parts are loaded
/// ```
class latch {
public:
    /// A latch that opens after `expected` count-downs (at once if 0).
    /// **Throws:** usage_error if expected < 0.
    explicit latch(std::ptrdiff_t expected) : m_count(expected) {
        if (expected < 0) {
            detail::throw_usage("latch: a negative expected count; a latch counts down from the "
                                "number of arrivals to wait for, 0 or more");
        }
    }
    latch(const latch&) = delete;
    auto operator=(const latch&) -> latch& = delete;
    ~latch() = default;

    /// Awaiter of wait() and arrive_and_wait(): itself the waiter node.
    class [[nodiscard]] wait_awaiter : private detail::wait_node {
    public:
        wait_awaiter(latch& l, bool arrives, std::ptrdiff_t n) noexcept
            : m_latch(&l), m_n(n), m_arrives(arrives) {}
        [[nodiscard]] auto await_ready() -> bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            m_latch->m_waiters.check_loop(what());
            if (m_arrives) {
                m_latch->count_down(m_n);
            }
            return m_latch->m_count == 0;
        }
        auto await_suspend(std::coroutine_handle<> h) -> bool {
            const bool parked = detail::begin_wait(*this, m_latch->m_waiters, h, what());
            if (parked) {
                ++m_latch->m_parked;
            }
            return parked;
        }
        void await_resume() {
            detail::finish_wait(
                *this, "a coven::latch", [] {}, [] {}); // the latch stays open: nothing to pass on
        }

    private:
        [[nodiscard]] auto what() const noexcept -> const char* {
            return m_arrives ? "co_await latch::arrive_and_wait()" : "co_await latch::wait()";
        }
        latch* m_latch;
        std::ptrdiff_t m_n;
        bool m_arrives;
    };

    /// Lowers the count by `n`; at zero, wakes every waiter in the order they came.
    /// **Throws:** usage_error if n < 0 or n > count() (nothing is counted then), from a task of
    /// another loop, or, when it would wake tasks, from a thread that does not drive their loop.
    void count_down(std::ptrdiff_t n = 1) {
        m_waiters.check_loop("latch::count_down()");
        if (n < 0) {
            detail::throw_usage("latch::count_down() with a negative n; a latch only counts down: "
                                "pass 0 or more");
        }
        if (n > m_count) {
            detail::throw_usage("latch::count_down() below zero: more count-downs than the latch "
                                "expects; construct it with the number of arrivals to wait for");
        }
        if (n == 0) {
            return;
        }
        if (n == m_count) {
            detail::require_waker_thread(m_waiters, "latch::count_down()");
        }
        m_count -= n;
        if (m_count == 0) {
            while (m_waiters.choose_front() != nullptr) {
                ++m_released;
            }
        }
    }
    /// True if the count is zero; never suspends.
    [[nodiscard]] auto try_wait() const noexcept -> bool { return m_count == 0; }
    /// Waits until the count is zero: `co_await l.wait();`.
    [[nodiscard]] auto wait() noexcept -> wait_awaiter { return wait_awaiter(*this, false, 0); }
    /// count_down(n), then wait(): `co_await l.arrive_and_wait();`. The count-down happens when
    /// the awaiter is awaited, and stays done if the wait is cancelled.
    /// **Throws:** as count_down(), from the co_await, before it waits.
    [[nodiscard]] auto arrive_and_wait(std::ptrdiff_t n = 1) noexcept -> wait_awaiter {
        return wait_awaiter(*this, true, n);
    }
    /// What is left to count down.
    [[nodiscard]] auto count() const noexcept -> std::ptrdiff_t { return m_count; }
    [[nodiscard]] auto statistics() const noexcept -> latch_statistics {
        return {m_count, m_waiters.size(), m_parked, m_released};
    }

private:
    detail::wait_queue m_waiters;
    std::ptrdiff_t m_count;
    std::uint64_t m_parked = 0;
    std::uint64_t m_released = 0;
};

} // namespace coven
