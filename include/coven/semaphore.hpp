#pragma once
// coven::semaphore and coven::scarlet_lock: a lock that n tasks may hold at once (scarletio's
// ScarletLock, S19).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <utility>

namespace coven {

/// What semaphore::statistics() reports.
struct semaphore_statistics {
    std::size_t available = 0;      ///< permits free now
    std::size_t waiting = 0;        ///< tasks parked in acquire()
    std::uint64_t acquisitions = 0; ///< successful acquires, immediate or after a wait
    std::uint64_t contended = 0;    ///< acquires that had to wait
};

/// A counter of permits for tasks of one loop (S19). acquire() takes one, waiting while none is
/// free; release() gives one back, straight to the first waiter if there is one (FIFO, no
/// barging). Up to `limit` permits can be free: releasing beyond that is a usage_error (a
/// bounded semaphore; the default limit is unbounded).
///
/// **Cancellation:** a waiter that is cancelled leaves the queue and raises cancelled_error. A
/// waiter that was handed a permit but was cancelled before it ran passes the permit on and
/// raises cancelled_error: no permit is lost. Taking a free permit does not suspend, so it does
/// not see a pending cancellation; a wait that would park with one pending raises without
/// queueing. An interrupt (task_interrupt()) leaves the same way; future::abort() drops a waiter
/// without resuming it. A guard gives its permit back when a cancellation unwinds its holder.
/// **Throws:** usage_error for a release beyond the limit; from a task of another loop than the
/// one that first used it; for a wait that has to park outside a coven task; and in the waits of
/// tasks still parked when the semaphore is destroyed.
/// **Thread safety:** the loop's thread only; tasks of one loop at a time.
/// **Example:**
/// ```
/// coven::semaphore slots(4);
/// auto held = co_await slots.scoped(); // at most 4 tasks past this line
/// ```
class semaphore {
public:
    static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

    /// `permits` free at first; at most `limit` free at any time.
    /// **Throws:** usage_error if permits > limit.
    explicit semaphore(std::size_t permits, std::size_t limit = unbounded)
        : m_available(permits), m_limit(limit) {
        if (permits > limit) {
            detail::throw_usage("semaphore: more initial permits than its limit");
        }
        m_waiters.hand_on_when_dropped(&hand_on, this);
    }
    semaphore(const semaphore&) = delete;
    auto operator=(const semaphore&) -> semaphore& = delete;
    ~semaphore() = default;

    /// Gives back the permit it holds when it goes (moves; releases once).
    class [[nodiscard]] guard {
    public:
        guard() noexcept = default;
        explicit guard(semaphore& s) noexcept : m_sem(&s) {}
        guard(guard&& o) noexcept : m_sem(std::exchange(o.m_sem, nullptr)) {}
        auto operator=(guard&& o) noexcept -> guard& {
            if (this != &o) {
                release();
                m_sem = std::exchange(o.m_sem, nullptr);
            }
            return *this;
        }
        guard(const guard&) = delete;
        auto operator=(const guard&) -> guard& = delete;
        ~guard() { release(); }
        /// Gives the permit back now. A failure here (a release beyond the limit because the
        /// permit was also given back by hand, or from another loop's thread) aborts with a
        /// message: the count would be wrong from then on.
        void release() noexcept {
            if (semaphore* s = std::exchange(m_sem, nullptr)) {
                try {
                    s->release();
                } catch (const std::exception& e) {
                    std::fprintf(stderr,
                                 "coven: a semaphore guard could not give back its "
                                 "permit: %s\n",
                                 e.what());
                    std::abort();
                }
            }
        }

    private:
        semaphore* m_sem = nullptr;
    };

    /// Awaiter of acquire(): itself the waiter node.
    class [[nodiscard, gnu::warn_unused]] acquire_awaiter : protected detail::wait_node {
    public:
        explicit acquire_awaiter(semaphore & s) noexcept : m_sem(&s) {
            m_drop_safe = true;
        }
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            return m_sem->try_acquire();
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_sem->m_waiters, h, "co_await semaphore::acquire()");
        }
        void await_resume() {
            detail::finish_wait(
                *this, "a coven::semaphore",
                [this] {
                    ++m_sem->m_stats.acquisitions;
                    ++m_sem->m_stats.contended;
                },
                [this] { m_sem->release(); });
        }

    protected:
        semaphore* m_sem;
    };
    class [[nodiscard, gnu::warn_unused]] scoped_awaiter : public acquire_awaiter {
    public:
        using acquire_awaiter::acquire_awaiter;
        auto await_resume()->guard {
            acquire_awaiter::await_resume();
            return guard(*m_sem);
        }
    };

    /// Waits for a permit and takes it: `co_await sem.acquire();`.
    /// **Cancellation:** see the class comment: leaves the queue at once and raises
    /// cancelled_error; a permit handed to it before it ran passes on.
    /// **Throws:** cancelled_error; usage_error as in the class comment.
    [[nodiscard]] auto acquire() noexcept -> acquire_awaiter { return acquire_awaiter(*this); }
    /// acquire(), returning a guard that gives it back: `auto held = co_await sem.scoped();`.
    [[nodiscard]] auto scoped() noexcept -> scoped_awaiter { return scoped_awaiter(*this); }
    /// Takes a permit if one is free and nobody waits; never suspends.
    /// **Throws:** usage_error from a task of another loop than the semaphore's.
    [[nodiscard]] auto try_acquire() -> bool {
        m_waiters.check_loop("semaphore::try_acquire()");
        if (m_available == 0 || !m_waiters.empty()) {
            return false;
        }
        --m_available;
        ++m_stats.acquisitions;
        return true;
    }
    /// Gives a permit back: to the first waiter, else to the free ones.
    /// **Throws:** usage_error if that would make more than the limit free, or from another
    /// loop's task or thread.
    void release() {
        m_waiters.check_loop("semaphore::release()");
        detail::require_waker_thread(m_waiters, "semaphore::release()");
        if (m_waiters.choose_front() != nullptr) {
            return; // handed over: the permit stays taken
        }
        if (m_available == m_limit) {
            detail::throw_usage("semaphore::release() beyond its limit: more releases than "
                                "acquires; release only the permits you took");
        }
        ++m_available;
    }

    [[nodiscard]] auto available() const noexcept -> std::size_t { return m_available; }
    [[nodiscard]] auto statistics() const noexcept -> semaphore_statistics {
        semaphore_statistics s = m_stats;
        s.available = m_available;
        s.waiting = m_waiters.size();
        return s;
    }

private:
    /// A permit handed to a waiter that will never run goes on: to the next waiter, else free.
    static void hand_on(void* s) noexcept {
        auto* self = static_cast<semaphore*>(s);
        if (self->m_waiters.choose_front() == nullptr) {
            ++self->m_available;
        }
    }
    detail::wait_queue m_waiters;
    std::size_t m_available;
    std::size_t m_limit;
    semaphore_statistics m_stats;
};

/// scarletio's ScarletLock(n) (S19): a lock that up to `n` tasks hold at once, a semaphore bounded
/// at `n` (releasing one that nobody holds is a usage_error). Cancellation, threads and errors
/// as semaphore.
/// **Example:** `coven::scarlet_lock lock(2); auto held = co_await lock.scoped();`
class scarlet_lock : public semaphore {
public:
    /// **Throws:** usage_error if n is 0 (nobody could ever hold it).
    explicit scarlet_lock(std::size_t n) : semaphore(checked(n), n) {}

private:
    static auto checked(std::size_t n) -> std::size_t {
        if (n == 0) {
            detail::throw_usage("scarlet_lock(0): nobody could ever hold it; use at least 1");
        }
        return n;
    }
};

} // namespace coven
