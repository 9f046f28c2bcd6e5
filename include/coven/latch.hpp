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
/// is released, in the order they came (a priority loop then runs them by priority), and later
/// waits return at once. It never counts up again; for a reusable rendezvous use coven::barrier.
///
/// **Cancellation:** a waiter that is cancelled (or interrupted) while the count is above zero
/// leaves the queue and raises cancelled_error; the others still wake at zero. One released at
/// zero whose task was cancelled (or interrupted) before it ran returns normally: its wait is
/// over, and the cancellation stays pending for the task's next await (raising here would look
/// like a wait that never ended, and a caller that retries would count down again).
/// arrive_and_wait() counts down before it waits, and that count stays down if the wait is then
/// cancelled: the arrival happened, only the wait is given up. A wait that finds the latch open
/// does not suspend, so it does not see a pending cancellation. A latch destroyed while tasks
/// wait in it makes their waits raise usage_error instead of hanging; one destroyed after it
/// released its waiters, before they ran, does not disturb them (their waits return normally).
/// future::abort() of a waiting task cancels it as cancel() does (it is not dropped).
/// **Throws:** usage_error for a negative `expected`; for a count_down() (or arrive_and_wait())
/// with a negative `n` or below zero; for a wait that has to park outside a task; for any call
/// (wait(), arrive_and_wait(), count_down()) from a task of another loop than the one that first
/// used the latch; and, once a task has used it, for a count_down() or arrive_and_wait() from a
/// thread that does not drive that loop, whether or not the count reaches zero.
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
        m_waiters.release_orphans_on_destruction(); // a released waiter never touches the latch
    }
    latch(const latch&) = delete;
    auto operator=(const latch&) -> latch& = delete;
    ~latch() = default;

    /// Awaiter of wait() and arrive_and_wait(): itself the waiter node.
    class [[nodiscard, gnu::warn_unused]] wait_awaiter : private detail::wait_node {
    public:
        wait_awaiter(latch & l, bool arrives, std::ptrdiff_t n) noexcept
            : m_latch(&l), m_n(n), m_arrives(arrives) {}
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            m_latch->m_waiters.check_loop(what());
            if (m_arrives) {
                m_latch->count_down(m_n);
            }
            return m_latch->m_count == 0;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            const bool parked = detail::begin_wait(*this, m_latch->m_waiters, h, what());
            if (parked) {
                ++m_latch->m_parked;
            }
            return parked;
        }
        void await_resume() {
            // Only the node (and, while the latch lives, its queue) is touched: the latch may be
            // gone by now. Released: the wait is over, even with a cancellation pending.
            detail::finish_release_wait(*this, "a coven::latch");
        }

    private:
        [[nodiscard]] auto what() const noexcept->const char* {
            return m_arrives ? "co_await latch::arrive_and_wait()" : "co_await latch::wait()";
        }
        latch* m_latch;
        std::ptrdiff_t m_n;
        bool m_arrives;
    };

    /// Lowers the count by `n`; at zero, releases every waiter in the order they came.
    /// **Throws:** usage_error if n < 0 or n > count(), from a task of another loop, or, once a
    /// task used the latch, from a thread that does not drive that task's loop (whether or not
    /// the count reaches zero); nothing is counted then.
    void count_down(std::ptrdiff_t n = 1) {
        constexpr const char* what = "latch::count_down()";
        m_waiters.check_loop(what);
        m_waiters.require_bound_thread(what);
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
    /// **Cancellation:** see the class comment: leaves at once before zero; once released it
    /// returns, and the cancellation stays pending.
    [[nodiscard]] auto wait() noexcept -> wait_awaiter { return wait_awaiter(*this, false, 0); }
    /// count_down(n), then wait(): `co_await l.arrive_and_wait();`. The count-down happens when
    /// the awaiter is awaited, and stays done if the wait is cancelled.
    /// **Cancellation:** as wait(); the count-down is not undone.
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
