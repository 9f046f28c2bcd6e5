#pragma once
// coven::barrier: a reusable rendezvous of a fixed number of tasks, phase after phase
// (std::barrier for tasks).
//
// The barrier keeps no arrival counter: the tasks that arrived in the current phase are exactly
// the ones parked in its wait queue, since every arrival but the last one waits. So a waiter that
// is cancelled, interrupted or destroyed leaves the queue (the queue's own cancel hook unlinks
// it, at once) and its arrival is withdrawn with it: no second piece of state can disagree. The
// last arrival (waiting + 1 == expected) completes the phase: it chooses every waiter, which
// marks them chosen (so the queue has no waiters again for the next phase, and a
// cancel reaching a waiter from then on finds it released), then runs the completion function,
// then advances the phase. Invariant between calls: waiting < expected, or expected == 0 and
// nobody waits.

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>

namespace coven {

/// What barrier::statistics() reports.
struct barrier_statistics {
    std::ptrdiff_t expected = 0; ///< arrivals that complete a phase (lowered by arrive_and_drop)
    std::size_t waiting = 0;     ///< tasks that arrived in the current phase (each one waits)
    std::uint64_t phase = 0;     ///< phases completed so far: the current phase's number
    std::uint64_t dropped = 0;   ///< arrive_and_drop() calls
};

/// A reusable rendezvous for tasks of one loop (std::barrier): each phase completes when
/// `expected` tasks have arrived. Every arrival but the last waits; the last one releases every
/// waiter of the phase, in the order they came (a priority loop then runs them by priority),
/// runs the optional completion function in its own turn, before any of them runs, and the next
/// phase begins. arrive_and_drop() arrives and leaves for good: every later phase expects one
/// task fewer.
///
/// **Cancellation:**
/// - a waiter cancelled (or interrupted) before its phase completes leaves the queue and **its
///   arrival is withdrawn**: the phase now waits for one more arrival, so it never completes
///   counting a task that is gone. Its wait raises cancelled_error;
/// - a waiter whose phase completed (it was released) but whose task was cancelled or
///   interrupted before it ran, from the completion function too: its arrival counted, so its
///   wait returns the phase normally, and the cancellation or interrupt stays pending for the
///   task's next await. Raising here would look like a withdrawn arrival, and a caller that
///   retries would arrive twice;
/// - an arrival with a cancellation pending raises at once without arriving, unless it is the
///   last one: that one completes the phase without suspending and does not see the
///   cancellation (its next await does), like every wait that finds its primitive ready;
/// - a barrier destroyed while tasks wait in it makes their waits raise usage_error instead of
///   hanging; one destroyed after it released a phase's waiters, before they ran, does not
///   disturb them (each returns its phase, kept in its own awaiter);
/// - future::abort() of a waiting task cancels it as cancel() does (it is not dropped).
///
/// **Throws:** usage_error for a negative `expected`, for an arrival at a barrier that expects
/// nobody (every participant dropped), for an arrival from inside the completion function, for
/// an arrival from a task of another loop than the one that first used the barrier, and, once
/// a task has used it, for an arrive_and_drop() or arrive_and_wait() from a thread that does not
/// drive that loop (whether or not it would complete the phase). An exception thrown by the
/// completion function propagates from the last arrival's arrive_and_wait() or
/// arrive_and_drop(); the phase completes anyway (its waiters are released), so nobody hangs on
/// it.
/// **Thread safety:** the loop's thread only; tasks of one loop at a time.
/// **Example:**
/// ```
/// coven::barrier step(workers, [&] { swap(current, next); }); // once per phase, by the last
/// for (int i = 0; i < rounds; ++i) {   // in each of the `workers` tasks
///     compute(next, current, slice);
///     co_await step.arrive_and_wait(); // all slices done, buffers swapped
/// }
/// ```
class barrier {
public:
    /// A barrier whose phases complete after `expected` arrivals each.
    /// **Throws:** usage_error if expected < 0.
    explicit barrier(std::ptrdiff_t expected) : barrier(expected, nullptr) {}
    /// As barrier(expected), with `completion` run once per phase by the last arrival. The
    /// phase's waiters are released first (statistics().waiting is 0 while it runs, and a
    /// cancel it sends to one of them follows the released rule), but none of them runs before
    /// it returns: it runs inside the last arrival's turn, so it must not wait. phase() is still
    /// the completing phase's number while it runs. It must not destroy the barrier: the
    /// arrival that runs it goes on using the barrier after it returns.
    barrier(std::ptrdiff_t expected, std::function<void()> completion)
        : m_completion(std::move(completion)), m_expected(expected) {
        if (expected < 0) {
            detail::throw_usage("barrier: a negative expected count; a barrier waits for the "
                                "number of tasks that take part in each phase, 0 or more");
        }
        m_waiters.release_orphans_on_destruction(); // a released waiter never touches the barrier
    }
    barrier(const barrier&) = delete;
    auto operator=(const barrier&) -> barrier& = delete;
    ~barrier() = default;

    /// Awaiter of arrive_and_wait(): itself the waiter node. Returns the number of the phase it
    /// arrived in (0 for the first).
    class [[nodiscard, gnu::warn_unused]] arrive_awaiter : private detail::wait_node {
    public:
        explicit arrive_awaiter(barrier & b) noexcept : m_barrier(&b) {}
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again arrives afresh)
            // The phase it arrives in is the one whose completion releases it: kept here, so
            // that await_resume never reads the barrier.
            m_phase = m_barrier->m_phase;
            return m_barrier->arrive_last(k_what);
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_barrier->m_waiters, h, k_what);
        }
        auto await_resume()->std::uint64_t {
            // Only the node (and, while the barrier lives, its queue) is touched here: the
            // barrier may be gone (released_orphan) or in a later phase by now. Released: the
            // phase completed, even with a cancellation pending.
            detail::finish_release_wait(*this, "a coven::barrier");
            return m_phase;
        }

    private:
        static constexpr const char* k_what = "co_await barrier::arrive_and_wait()";
        barrier* m_barrier;
        std::uint64_t m_phase = 0;
    };

    /// Arrives in the current phase and waits until it completes: `co_await b.arrive_and_wait();`
    /// gives the phase's number. The last arrival completes it without suspending.
    /// **Cancellation:** see the class comment: a waiter cancelled before the phase completes
    /// withdraws its arrival and raises cancelled_error; a released one returns its phase.
    /// **Throws:** usage_error (from the co_await) if the barrier expects nobody, from inside
    /// the completion function, from a task of another loop, from a thread that does not drive
    /// the barrier's loop, or for an arrival that has to park outside a coven task;
    /// cancelled_error; what the completion function throws, in the last arrival.
    [[nodiscard]] auto arrive_and_wait() noexcept -> arrive_awaiter {
        return arrive_awaiter(*this);
    }

    /// Arrives in the current phase without waiting and leaves: this and every later phase
    /// expect one arrival fewer. Completes the phase if everybody else has arrived.
    /// **Throws:** usage_error if the barrier expects nobody, from inside the completion function,
    /// from a task of another loop, or, once a task has used the barrier, from a thread that does
    /// not drive that loop (whether or not it completes the phase); nothing changes then. What
    /// the completion function throws; the phase completes anyway.
    void arrive_and_drop() {
        constexpr const char* what = "barrier::arrive_and_drop()";
        m_waiters.check_loop(what);
        m_waiters.require_bound_thread(what);
        check_can_arrive(what);
        const bool completes = waiting() + 1 == m_expected;
        --m_expected;
        ++m_dropped;
        if (completes) {
            complete_phase();
        }
    }

    /// Arrivals that complete a phase.
    [[nodiscard]] auto expected() const noexcept -> std::ptrdiff_t { return m_expected; }
    /// Phases completed so far: the number of the current phase.
    [[nodiscard]] auto phase() const noexcept -> std::uint64_t { return m_phase; }
    [[nodiscard]] auto statistics() const noexcept -> barrier_statistics {
        return {m_expected, m_waiters.size(), m_phase, m_dropped};
    }

private:
    [[nodiscard]] auto waiting() const noexcept -> std::ptrdiff_t {
        return static_cast<std::ptrdiff_t>(m_waiters.size());
    }
    void check_can_arrive(const char* what) const {
        if (m_completing) {
            throw usage_error(std::string("coven: ") + what +
                              " from inside the barrier's completion function; the completion "
                              "runs between phases: arrive from the tasks instead");
        }
        if (m_expected == 0) {
            throw usage_error(std::string("coven: ") + what +
                              " at a barrier that expects nobody (every participant dropped, or "
                              "it was made for 0); construct it for the tasks that take part");
        }
    }
    /// An arrive_and_wait(): true if it is the phase's last arrival, which completes it (and then
    /// does not wait); false: it parks.
    auto arrive_last(const char* what) -> bool {
        m_waiters.check_loop(what);
        m_waiters.require_bound_thread(what);
        check_can_arrive(what);
        if (waiting() + 1 != m_expected) {
            return false;
        }
        complete_phase();
        return true;
    }
    /// Releases the waiters of this phase (chosen: a cancel from now on finds them released),
    /// then runs the completion, then starts the next phase, even if the completion threw
    /// (rethrown at the end).
    void complete_phase() {
        while (m_waiters.choose_front() != nullptr) {
        }
        std::exception_ptr failure;
        if (m_completion) {
            m_completing = true;
            try {
                m_completion();
            } catch (...) {
                failure = std::current_exception();
            }
            m_completing = false;
        }
        ++m_phase;
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    detail::wait_queue m_waiters;
    std::function<void()> m_completion;
    std::ptrdiff_t m_expected;
    std::uint64_t m_phase = 0;
    std::uint64_t m_dropped = 0;
    bool m_completing = false;
};

} // namespace coven
