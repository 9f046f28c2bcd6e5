#pragma once
// coven::lock: an exclusive async lock, FIFO (scarletio's Lock, S18).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

namespace coven {

class lock;

namespace detail {
/// Priority inheritance (K22, src/priority.cpp): what a priority_lock tells the loop when a task
/// starts or stops waiting in it and when it changes hands.
struct inherit_engine {
    static void parked(wait_queue& q, wait_node& n) noexcept;
    static void left(wait_queue& q, wait_node& n) noexcept;
    static void handed(lock& l, promise_base* from, promise_base* to) noexcept;
    static void gone(lock& l) noexcept;
    /// The task that holds `l`, or null.
    static auto owner(const lock& l) noexcept -> promise_base*;
    static auto waiters(lock& l) noexcept -> wait_queue&;
};
} // namespace detail

/// What lock::statistics() reports.
struct lock_statistics {
    bool locked = false;
    std::size_t waiting = 0;        ///< tasks parked in acquire()
    std::uint64_t acquisitions = 0; ///< successful acquires, immediate or after a wait
    std::uint64_t contended = 0;    ///< acquires that had to wait
};

/// An exclusive lock for tasks of one loop (S18). Waiters get it in the order they came (FIFO);
/// release() hands it straight to the first waiter, so nobody can barge in between. The task
/// that acquired it owns it until it releases it.
///
/// **Cancellation:** a waiter that is cancelled leaves the queue and raises cancelled_error. A
/// waiter that was handed the lock but was cancelled before it ran passes the lock on to the next
/// waiter (or frees it) and raises cancelled_error: the lock is never lost. Acquiring a free lock
/// does not suspend, so it does not see a pending cancellation; a wait that would park with one
/// pending raises without queueing. An interrupt (task_interrupt()) leaves the same way;
/// future::abort() drops a waiter without resuming it. A guard releases the lock when a
/// cancellation unwinds its holder.
/// **Throws:** usage_error for release() by a task that does not own it, or of a free lock.
/// **Thread safety:** the loop's thread only; tasks of one loop at a time.
/// **Example:**
/// ```
/// coven::lock lock;
/// {
///     auto held = co_await lock.scoped();
///     co_await write_record(file);
/// } // released here
/// ```
class lock {
public:
    lock() noexcept { m_waiters.hand_on_when_dropped(&hand_on, this); }
    lock(const lock&) = delete;
    auto operator=(const lock&) -> lock& = delete;
    ~lock() {
        if (m_by_priority) {
            detail::inherit_engine::gone(*this);
            if (m_locked) {
                // Free first: if this was the last reference to the holder, its frame goes now,
                // and a guard in it must find nothing to release.
                m_locked = false;
                drop(std::exchange(m_owner, nullptr));
            }
        }
    }

    /// Releases the lock it holds when it goes (moves; releases once). It remembers which
    /// acquisition it holds: if that one was already released (lock::release() called by
    /// hand), it does nothing, so it never releases somebody else's hold.
    class [[nodiscard]] guard {
    public:
        guard() noexcept = default;
        guard(lock& l, std::uint64_t acquisition) noexcept
            : m_lock(&l), m_acquisition(acquisition) {}
        guard(guard&& o) noexcept
            : m_lock(std::exchange(o.m_lock, nullptr)), m_acquisition(o.m_acquisition) {}
        auto operator=(guard&& o) noexcept -> guard& {
            if (this != &o) {
                unlock();
                m_lock = std::exchange(o.m_lock, nullptr);
                m_acquisition = o.m_acquisition;
            }
            return *this;
        }
        guard(const guard&) = delete;
        auto operator=(const guard&) -> guard& = delete;
        ~guard() { unlock(); }
        /// Releases now instead of at the end of the block (for the task that acquired it,
        /// wherever the guard went).
        void unlock() noexcept {
            if (lock* l = std::exchange(m_lock, nullptr)) {
                l->release_guarded(m_acquisition);
            }
        }
        /// True while it holds its acquisition of the lock.
        [[nodiscard]] auto owns_lock() const noexcept -> bool {
            return m_lock != nullptr && m_lock->m_locked && m_lock->m_acquisition == m_acquisition;
        }

    private:
        lock* m_lock = nullptr;
        std::uint64_t m_acquisition = 0;
    };

    /// Awaiter of acquire(): itself the waiter node.
    class [[nodiscard, gnu::warn_unused]] acquire_awaiter : protected detail::wait_node {
    public:
        explicit acquire_awaiter(lock & l) noexcept : m_lock(&l) {
            m_drop_safe = true;
        }
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            return m_lock->try_acquire();
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            detail::promise_base* const me =
                detail::require_current_task("co_await lock::acquire()");
            if (m_lock->m_owner == me) {
                detail::throw_usage("co_await lock::acquire() by the task that holds the lock; "
                                    "it would wait for itself forever (the lock is not "
                                    "recursive)");
            }
            // await_ready()'s try_acquire() checked the loop.
            return detail::begin_wait_of(me, *this, m_lock->m_waiters, h);
        }
        void await_resume() {
            detail::finish_wait<false>(
                *this, "a coven::lock",
                [this] {
                    ++m_lock->m_stats.acquisitions;
                    ++m_lock->m_stats.contended;
                },
                [this] { m_lock->release_by(m_task, true); });
        }

    protected:
        lock* m_lock;
    };
    /// Awaiter of scoped(): acquire(), then a guard.
    class [[nodiscard, gnu::warn_unused]] scoped_awaiter : public acquire_awaiter {
    public:
        using acquire_awaiter::acquire_awaiter;
        auto await_resume()->guard {
            acquire_awaiter::await_resume();
            return guard(*m_lock, m_lock->m_acquisition);
        }
    };

    /// True if the calling task holds the lock.
    [[nodiscard]] auto held_by_caller() const noexcept -> bool {
        return m_locked && m_owner == detail::current_task();
    }

    /// Waits until the lock is free and takes it: `co_await lock.acquire();`.
    /// **Cancellation:** see the class comment: leaves the queue at once and raises
    /// cancelled_error; a lock handed to it before it ran passes on.
    /// **Throws:** cancelled_error; usage_error from the task that holds the lock (it is not
    /// recursive), for a wait that has to park outside a coven task, from a task of another loop
    /// than the one that first used the lock, or when the lock is destroyed while the task waits.
    [[nodiscard]] auto acquire() noexcept -> acquire_awaiter { return acquire_awaiter(*this); }
    /// acquire(), returning a guard that releases it: `auto held = co_await lock.scoped();`.
    [[nodiscard]] auto scoped() noexcept -> scoped_awaiter { return scoped_awaiter(*this); }
    /// Takes the lock if it is free and nobody waits; never suspends.
    /// **Throws:** usage_error from a task of another loop than the lock's.
    [[nodiscard]] auto try_acquire() -> bool {
        m_waiters.check_loop("lock::try_acquire()");
        if (m_locked || !m_waiters.empty()) {
            return false;
        }
        m_locked = true;
        m_owner = detail::current_task();
        m_acquisition = ++m_holds;
        ++m_stats.acquisitions;
        if (m_by_priority) [[unlikely]] {
            retain(m_owner);
        }
        return true;
    }
    /// Releases the lock: the first waiter gets it, else it is free.
    /// **Throws:** usage_error if it is not locked, if a task other than its owner (or code
    /// outside the owning task) releases it, or from another loop's thread.
    void release() {
        detail::promise_base* const me = detail::current_task();
        // The running owner, a task of the lock's loop: the lock is held (only a held lock has
        // an owner), and the loop and thread checks pass by construction. (The loop compare
        // also keeps a task of another loop that reuses the frame address of an owner that
        // ended holding the lock on the checked path.)
        if (me != nullptr && me == m_owner && me->m_loop == m_waiters.bound_loop()) [[likely]] {
            pass_on();
            return;
        }
        release_by(me);
    }

    [[nodiscard]] auto locked() const noexcept -> bool { return m_locked; }
    [[nodiscard]] auto statistics() const noexcept -> lock_statistics {
        lock_statistics s = m_stats;
        s.locked = m_locked;
        s.waiting = m_waiters.size();
        return s;
    }

protected:
    /// For priority_lock: waiters are served by priority, and the holder inherits theirs.
    struct by_priority_t {};
    explicit lock(by_priority_t) noexcept : m_by_priority(true) {
        m_waiters.serve_by_priority(&detail::inherit_engine::parked, &detail::inherit_engine::left,
                                    this);
    }

private:
    friend class condition;
    friend struct detail::inherit_engine;
    /// Awaiter that takes the lock back for a condition wait: it does not give up for a
    /// cancellation (the caller must hold the lock again before the cancellation propagates), so
    /// a cancel while it waits leaves it in the queue.
    class [[nodiscard, gnu::warn_unused]] reacquire_awaiter : protected detail::wait_node {
    public:
        explicit reacquire_awaiter(lock & l) noexcept : m_lock(&l) {}
        [[nodiscard]] auto await_ready()->bool {
            return m_lock->try_acquire();
        }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            m_lock->m_waiters.park_waiter(*this, detail::t_current_task, h);
            m_on_cancel = &detail::wait_queue::stays_parked;
        }
        void await_resume() {
            if (m_state == chosen) {
                m_lock->m_waiters.taken(*this);
                m_state = idle;
                ++m_lock->m_stats.acquisitions;
                ++m_lock->m_stats.contended;
                return;
            }
            if (m_state == abandoned) {
                detail::throw_abandoned("a coven::lock");
            }
        }

    private:
        lock* m_lock;
    };
    /// For condition: the number of the caller's hold, given back by restore_hold() once the
    /// lock is taken back after a wait, so that the caller's guard still knows its hold.
    [[nodiscard]] auto hold_number() const noexcept -> std::uint64_t { return m_acquisition; }
    void restore_hold(std::uint64_t number) noexcept { m_acquisition = number; }
    /// For condition: takes the lock back, whatever cancellation is pending.
    [[nodiscard]] auto reacquire() noexcept -> reacquire_awaiter {
        return reacquire_awaiter(*this);
    }
    /// `by_running_owner`: `releaser` is the task running on this thread. Once it is found to
    /// be the owner, the loop and thread checks are known to pass: the owner is a task of the
    /// lock's loop (try_acquire() and begin_wait() checked it), and so is every waiter.
    void release_by(detail::promise_base* releaser, bool by_running_owner = false) {
        if (!m_locked) {
            detail::throw_usage("lock::release() of a lock that is not locked; release only "
                                "what acquire() (or try_acquire()) took, once");
        }
        if (releaser != m_owner) {
            detail::throw_usage("lock::release() by a task that does not hold the lock; the "
                                "task that acquired it must release it");
        }
        if (!by_running_owner) {
            m_waiters.check_loop("lock::release()");
            detail::require_waker_thread(m_waiters, "lock::release()");
        }
        pass_on();
    }
    /// The release itself, once its checks passed: the first waiter gets the lock, else it is
    /// free.
    void pass_on() noexcept {
        if (detail::wait_node* next = m_waiters.choose_front()) {
            if (m_by_priority) [[unlikely]] {
                hand_by_priority(next->m_task);
                return;
            }
            m_owner = next->m_task;    // handed over: the lock stays locked
            m_acquisition = ++m_holds; // a guard of the previous hold no longer matches
            return;
        }
        m_acquisition = 0;
        m_locked = false;
        detail::promise_base* last = std::exchange(m_owner, nullptr);
        if (m_by_priority) [[unlikely]] {
            drop(last); // last: it may free the frame of a task that has ended
        }
    }
    /// A waiter handed the lock was destroyed before it ran (loop stop): the lock goes on. (Not
    /// for a priority_lock: it keeps a reference on the waiter it hands to, and loop stop lets a
    /// referenced task that was woken run before it destroys any.)
    static void hand_on(void* l) noexcept { static_cast<lock*>(l)->pass_on(); }
    /// pass_on()'s hand-over in a priority_lock: the inheritance moves with the lock. Out of
    /// line, so that the plain lock's inlined release stays as small as it was.
    [[gnu::noinline]] void hand_by_priority(detail::promise_base* next) noexcept {
        detail::promise_base* from = m_owner;
        m_owner = next;
        m_acquisition = ++m_holds;
        retain(next);
        detail::inherit_engine::handed(*this, from, next);
        drop(from);
    }
    /// A priority_lock keeps a reference on the task that holds it, so that the inheritance
    /// engine never follows m_owner into a freed frame, even when a task ends holding it (a
    /// guard moved to another task and released there, or a misuse).
    static void retain(detail::promise_base* t) noexcept {
        if (t != nullptr) {
            ++t->m_refs;
        }
    }
    static void drop(detail::promise_base* t) noexcept {
        if (t != nullptr) {
            detail::release_root(t);
        }
    }
    /// A guard's release: only if its acquisition is still the one held. A failure here (from
    /// another thread) would leave the lock held forever, so it aborts with a message.
    void release_guarded(std::uint64_t acquisition) noexcept {
        if (!m_locked || m_acquisition != acquisition) {
            return; // released by hand already
        }
        try {
            release_by(m_owner);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "coven: a lock guard could not release its lock: %s\n", e.what());
            std::abort();
        }
    }

    detail::wait_queue m_waiters;
    detail::promise_base* m_owner = nullptr;
    std::uint64_t m_holds = 0;       // counts holds: each gets a number no other hold has
    std::uint64_t m_acquisition = 0; // the number of the current hold (a guard knows its own)
    bool m_locked = false;
    bool m_by_priority = false;
    lock_statistics m_stats;
};

} // namespace coven
