#pragma once
// coven::event: a flag that any number of tasks wait for (scarletio's Event, S20).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace coven {

/// What event::statistics() reports.
struct event_statistics {
    bool is_set = false;
    std::size_t waiting = 0; ///< tasks parked in wait()
    std::uint64_t sets = 0;  ///< set() calls that changed the flag
};

/// A flag for tasks of one loop (S20): wait() (or `co_await ev`) returns at once while it is set,
/// and parks the task until set() otherwise. set() wakes every waiter, in the order they came.
///
/// **Cancellation:** a waiter that is cancelled leaves the queue and raises cancelled_error; one
/// woken by set() whose task was cancelled before it ran raises cancelled_error too (the flag
/// stays set for the others). Waiting on a set event does not suspend, so it does not see a
/// pending cancellation; one that would park with a cancellation pending raises without
/// queueing. An interrupt (task_interrupt()) leaves the same way. future::abort() drops a
/// waiter here without resuming it.
/// **Thread safety:** the loop's thread only; tasks of one loop at a time. The first task that
/// uses it binds it to its loop.
/// **Example:**
/// ```
/// coven::event ready;
/// co_await ready;      // in one task
/// ready.set();         // in another: every waiter goes on
/// ```
class event {
public:
    event() noexcept = default;
    event(const event&) = delete;
    auto operator=(const event&) -> event& = delete;
    ~event() = default;

    /// Awaiter of wait(): itself the waiter node.
    class [[nodiscard, gnu::warn_unused]] wait_awaiter : private detail::wait_node {
    public:
        explicit wait_awaiter(event & e) noexcept : m_event(&e) {
            m_drop_safe = true;
        }
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            m_event->m_waiters.check_loop("co_await event::wait()");
            return m_event->m_set;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_event->m_waiters, h, "co_await event::wait()");
        }
        void await_resume() {
            detail::finish_wait(
                *this, "a coven::event", [] {}, [] {}); // nothing to pass on
        }

    private:
        event* m_event;
    };

    /// Waits until the flag is set: `co_await ev.wait();` or `co_await ev;`.
    /// **Cancellation:** see the class comment.
    /// **Throws:** cancelled_error; usage_error from a task of another loop than the one that
    /// first used the event, for a wait that has to park outside a coven task, or when the event
    /// is destroyed while the task waits.
    [[nodiscard]] auto wait() noexcept -> wait_awaiter { return wait_awaiter(*this); }
    auto operator co_await() noexcept -> wait_awaiter { return wait_awaiter(*this); }

    /// Sets the flag and wakes every waiter. No effect if it is set.
    /// **Throws:** usage_error from a task of another loop, or from a thread that does not drive
    /// the waiters' loop.
    void set() {
        if (m_set) {
            return;
        }
        m_waiters.check_loop("event::set()");
        detail::require_waker_thread(m_waiters, "event::set()");
        m_set = true;
        ++m_sets;
        while (m_waiters.choose_front() != nullptr) {
        }
    }
    /// Clears the flag: later waits park again. Tasks already woken by set() still go on.
    void clear() noexcept { m_set = false; }
    [[nodiscard]] auto is_set() const noexcept -> bool { return m_set; }
    [[nodiscard]] auto statistics() const noexcept -> event_statistics {
        return {m_set, m_waiters.size(), m_sets};
    }

private:
    detail::wait_queue m_waiters;
    std::uint64_t m_sets = 0;
    bool m_set = false;
};

} // namespace coven
