#pragma once
// coven::condition: tasks wait, holding a lock, until another task notifies them (asyncio's
// Condition; std::condition_variable for tasks).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>
#include <coven/lock.hpp>
#include <coven/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

namespace coven {

/// What condition::statistics() reports.
struct condition_statistics {
    std::size_t waiting = 0;    ///< tasks parked in wait()
    std::uint64_t notified = 0; ///< waiters woken by notify()
};

/// A condition variable for tasks of one loop. wait(lock) gives the lock up, parks the task
/// until notify_one()/notify_all() wakes it (FIFO), then takes the lock back before it returns,
/// as std::condition_variable does. The lock must be held by the waiting task.
///
/// **Cancellation:** a wait with a cancellation already pending raises at once, the lock still
/// held. A waiter that is cancelled (or interrupted) while it waits leaves the queue, takes the
/// lock back, then raises: the caller always holds the lock again when wait() ends, however it
/// ends. Taking the lock back is not cut short by a cancellation or an interrupt (as in
/// asyncio), so a holder that waits for the waiting task deadlocks. A waiter that was notified
/// but whose task was cancelled before it ran passes the notification on to the next waiter.
/// Every wait counts as an acquisition in the lock's statistics. future::abort() does not drop a
/// waiter here: it cancels it, since it must hold the lock again before it leaves.
/// **Throws:** usage_error if the calling task does not hold the lock, and from a task of
/// another loop than the one that first used the condition.
/// **Thread safety:** the loop's thread only. The first task that uses it binds it to its loop;
/// the lock must belong to the same loop.
/// **Example:**
/// ```
/// auto held = co_await lock.scoped();
/// co_await ready.wait(lock, [&] { return !jobs.empty(); });
/// ```
class condition {
public:
    condition() noexcept = default;
    condition(const condition&) = delete;
    auto operator=(const condition&) -> condition& = delete;
    ~condition() = default;

    /// Awaiter of the parking step of wait(): itself the waiter node.
    class [[nodiscard, gnu::warn_unused]] park_awaiter : protected detail::wait_node {
    public:
        explicit park_awaiter(condition & c) noexcept : m_cond(&c) {}
        [[nodiscard]] auto await_ready() const noexcept->bool {
            return false;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_cond->m_waiters, h, "co_await condition::wait()");
        }
        /// True: notified; false: cancelled (or destroyed), what to raise is in `error`.
        auto await_resume() noexcept->std::exception_ptr {
            try {
                detail::finish_wait(
                    *this, "a coven::condition", [] {}, [this] { m_cond->notify_one(); });
            } catch (...) {
                return std::current_exception();
            }
            return nullptr;
        }

    private:
        condition* m_cond;
    };

    /// Gives `l` up, waits to be notified, takes `l` back (S-style `co_await cv.wait(lock);`).
    /// Wake-ups may be spurious in the sense that the state may have changed again: check it in
    /// a loop, or use the predicate form.
    /// **Cancellation:** see the class comment: the caller holds `l` again when it raises.
    /// **Throws:** usage_error if the caller does not hold `l`, or (before `l` is given up, so
    /// the caller still holds it) from a task of another loop than the condition's; usage_error,
    /// once `l` is held again, if the condition is destroyed while the task waits;
    /// cancelled_error (or the interrupt's exception); std::bad_alloc (the wait is a task<void>).
    [[nodiscard]] auto wait(lock& l) -> task<void> {
        if (!l.held_by_caller()) {
            detail::throw_usage("condition::wait() by a task that does not hold the lock; take "
                                "it first (co_await lock.acquire() or lock.scoped())");
        }
        return wait_holding(l);
    }
    /// Waits until `pred()` is true, checking it with the lock held: before waiting and after
    /// every wake-up. If `pred()` holds at once it returns without waiting, so it does not see a
    /// pending cancellation.
    /// **Cancellation:** as wait(lock).
    /// **Throws:** as wait(lock), and what `pred()` throws (the lock still held).
    template <class Pred>
    [[nodiscard]] auto wait(lock& l, Pred pred) -> task<void> {
        if (!l.held_by_caller()) {
            detail::throw_usage("condition::wait() by a task that does not hold the lock; take "
                                "it first (co_await lock.acquire() or lock.scoped())");
        }
        return wait_until(l, std::move(pred));
    }

    /// Wakes the first waiter, if any.
    void notify_one() { notify(1); }
    /// Wakes up to `n` waiters, in the order they came (a priority_condition: most urgent
    /// first). The caller need not hold the lock.
    /// **Throws:** usage_error from a task of another loop than the condition's, or from a
    /// thread that does not drive the waiters' loop (also for notify_one() and notify_all()).
    void notify(std::size_t n) {
        m_waiters.check_loop("condition::notify()");
        detail::require_waker_thread(m_waiters, "condition::notify()");
        for (std::size_t i = 0; i < n && m_waiters.choose_front() != nullptr; ++i) {
            ++m_notified;
        }
    }
    /// Wakes every waiter.
    void notify_all() { notify(std::numeric_limits<std::size_t>::max()); }

    [[nodiscard]] auto statistics() const noexcept -> condition_statistics {
        return {m_waiters.size(), m_notified};
    }

protected:
    /// For priority_condition: waiters are woken by priority.
    struct by_priority_t {};
    explicit condition(by_priority_t) noexcept {
        m_waiters.serve_by_priority(nullptr, nullptr, this);
    }

private:
    auto wait_holding(lock& l) -> task<void> {
        if (detail::promise_base* self = detail::current_task(); detail::cancel_pending(self)) {
            detail::throw_cancelled(self); // raised while still holding the lock
        }
        // Before the lock is given up: a refused wait must leave the caller holding it.
        m_waiters.check_loop("condition::wait()");
        const std::uint64_t hold = l.hold_number(); // the caller's guard (if any) has it
        l.release();
        std::exception_ptr error = co_await park_awaiter(*this);
        co_await l.reacquire(); // even when cancelled: the caller holds the lock again
        l.restore_hold(hold);
        if (error) {
            std::rethrow_exception(error);
        }
    }
    template <class Pred>
    auto wait_until(lock& l, Pred pred) -> task<void> {
        while (!pred()) {
            co_await wait_holding(l);
        }
    }

    detail::wait_queue m_waiters;
    std::uint64_t m_notified = 0;
};

} // namespace coven
