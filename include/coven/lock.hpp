#pragma once
// coven::lock: an exclusive async lock, FIFO (scarletio's Lock, S18).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace coven {

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
/// does not suspend, so it does not see a pending cancellation.
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
    lock() noexcept = default;
    lock(const lock&) = delete;
    auto operator=(const lock&) -> lock& = delete;
    ~lock() = default;

    /// Releases the lock it holds when it goes (moves; releases once).
    class [[nodiscard]] guard {
    public:
        guard() noexcept = default;
        explicit guard(lock& l) noexcept : m_lock(&l) {}
        guard(guard&& o) noexcept : m_lock(std::exchange(o.m_lock, nullptr)) {}
        auto operator=(guard&& o) noexcept -> guard& {
            if (this != &o) {
                unlock();
                m_lock = std::exchange(o.m_lock, nullptr);
            }
            return *this;
        }
        guard(const guard&) = delete;
        auto operator=(const guard&) -> guard& = delete;
        ~guard() { unlock(); }
        /// Releases now instead of at the end of the block.
        void unlock() {
            if (m_lock != nullptr) {
                lock* l = std::exchange(m_lock, nullptr);
                l->release_by(l->m_owner); // for the task that acquired it, wherever it went
            }
        }
        [[nodiscard]] auto owns_lock() const noexcept -> bool { return m_lock != nullptr; }

    private:
        lock* m_lock = nullptr;
    };

    /// Awaiter of acquire(): itself the waiter node.
    class [[nodiscard]] acquire_awaiter : protected detail::wait_node {
    public:
        explicit acquire_awaiter(lock& l) noexcept : m_lock(&l) {}
        [[nodiscard]] auto await_ready() noexcept -> bool { return m_lock->try_acquire(); }
        auto await_suspend(std::coroutine_handle<> h) -> bool {
            if (!detail::begin_wait(*this, m_lock->m_waiters, h, "co_await lock::acquire()")) {
                return false;
            }
            ++m_lock->m_stats.contended;
            return true;
        }
        void await_resume() {
            detail::finish_wait(*this, "a coven::lock", [this] { m_lock->release_by(m_task); });
        }

    protected:
        lock* m_lock;
    };
    /// Awaiter of scoped(): acquire(), then a guard.
    class [[nodiscard]] scoped_awaiter : public acquire_awaiter {
    public:
        using acquire_awaiter::acquire_awaiter;
        auto await_resume() -> guard {
            acquire_awaiter::await_resume();
            return guard(*m_lock);
        }
    };

    /// Waits until the lock is free and takes it: `co_await lock.acquire();`.
    [[nodiscard]] auto acquire() noexcept -> acquire_awaiter { return acquire_awaiter(*this); }
    /// acquire(), returning a guard that releases it: `auto held = co_await lock.scoped();`.
    [[nodiscard]] auto scoped() noexcept -> scoped_awaiter { return scoped_awaiter(*this); }
    /// Takes the lock if it is free and nobody waits; never suspends.
    [[nodiscard]] auto try_acquire() noexcept -> bool {
        if (m_locked || !m_waiters.empty()) {
            return false;
        }
        m_locked = true;
        m_owner = detail::current_task();
        ++m_stats.acquisitions;
        return true;
    }
    /// Releases the lock: the first waiter gets it, else it is free.
    /// **Throws:** usage_error if it is not locked, or if a task other than its owner (or code
    /// outside the owning task) releases it.
    void release() { release_by(detail::current_task()); }

    [[nodiscard]] auto locked() const noexcept -> bool { return m_locked; }
    [[nodiscard]] auto statistics() const noexcept -> lock_statistics {
        lock_statistics s = m_stats;
        s.locked = m_locked;
        s.waiting = m_waiters.size();
        return s;
    }

private:
    void release_by(detail::promise_base* releaser) {
        if (!m_locked) {
            detail::throw_usage("lock::release() of a lock that is not locked; release only "
                                "what acquire() (or try_acquire()) took, once");
        }
        if (releaser != m_owner) {
            detail::throw_usage("lock::release() by a task that does not hold the lock; the "
                                "task that acquired it must release it");
        }
        detail::require_waker_thread(m_waiters, "lock::release()");
        if (detail::wait_node* next = m_waiters.choose_front()) {
            m_owner = next->m_task; // handed over: the lock stays locked
            ++m_stats.acquisitions;
            return;
        }
        m_locked = false;
        m_owner = nullptr;
    }

    detail::wait_queue m_waiters;
    detail::promise_base* m_owner = nullptr;
    bool m_locked = false;
    lock_statistics m_stats;
};

} // namespace coven
