#pragma once
// coven::task_timeout(): asynkit's task_timeout (K28), a timeout built on interrupts instead of
// cancellation.

#include <coven/detail/promise_base.hpp>
#include <coven/detail/timer_node.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/sleep.hpp>
#include <coven/task.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {

/// What a task_timeout() raises in its task when the deadline passes; it never leaves
/// task_timeout(), which turns it into timeout_error.
class timeout_interrupt : public interrupt_error {
public:
    explicit timeout_interrupt(std::uint64_t serial)
        : interrupt_error("coven: task_timeout() expired"), m_serial(serial) {}
    /// Which task_timeout() raised it: serials grow, so an enclosing one has a smaller serial
    /// than the ones inside it (it was entered first).
    [[nodiscard]] auto serial() const noexcept -> std::uint64_t { return m_serial; }

private:
    std::uint64_t m_serial;
};

/// The serial of a task_timeout()'s exception; 0 for any other exception.
inline auto timeout_serial(const std::exception_ptr& e) noexcept -> std::uint64_t {
    try {
        std::rethrow_exception(e);
    } catch (const timeout_interrupt& t) {
        return t.serial();
    } catch (...) {
        return 0;
    }
}

inline std::atomic<std::uint64_t> g_timeout_serials{0};

/// The deadline of one task_timeout(): a timer in the waiting frame. On expiry it throws its own
/// exception (its token) into the task. What it finds pending decides what happens:
///  - an enclosing task_timeout()'s exception: that one wins (it unwinds this one too): nothing;
///  - an inner task_timeout()'s: this one replaces it (it unwinds the inner one too);
///  - anything else (a task_throw()): taken aside, thrown back in when this one is done.
class task_timeout_timer : private timer_node {
public:
    task_timeout_timer(promise_base* task, event_loop::time_point deadline)
        : m_task(task), m_serial(g_timeout_serials.fetch_add(1, std::memory_order_relaxed) + 1),
          m_token(std::make_exception_ptr(timeout_interrupt(m_serial))) {
        m_fire = [](timer_node* n) noexcept { static_cast<task_timeout_timer*>(n)->fire(); };
        arm_timer(this, deadline);
    }
    task_timeout_timer(const task_timeout_timer&) = delete;
    auto operator=(const task_timeout_timer&) -> task_timeout_timer& = delete;
    ~task_timeout_timer() {
        if (armed()) {
            disarm_timer(m_task->m_loop, this);
        }
        if (m_fired) {
            retract_interrupt(m_task, m_token); // fired, but the body ended before its await
            if (m_replaced && !interrupt_pending(m_task)) { // (a newer throw would win anyway)
                throw_in(std::move(m_replaced));            // raised at its next await
            }
        }
    }
    /// True if `e` is this timeout's own exception.
    [[nodiscard]] auto is_mine(const std::exception_ptr& e) const noexcept -> bool {
        return m_fired && e == m_token;
    }

private:
    void fire() noexcept {
        std::exception_ptr pending = take_interrupt(m_task);
        if (pending) {
            const std::uint64_t other = timeout_serial(pending);
            if (other != 0 && other < m_serial) {
                throw_in(std::move(pending)); // an enclosing timeout is on its way: it wins
                return;
            }
            if (other == 0) {
                m_replaced = std::move(pending); // a task_throw(): raised after this one
            } // else an inner timeout's: this one unwinds that one too, so it is dropped
        }
        m_fired = throw_in(m_token);
        if (!m_fired && m_replaced) { // out of memory for the side table: put back what was there
            throw_in(std::move(m_replaced));
        }
    }

    /// throw_into_root(); false (and `e` is lost, as an unraised throw is) when the side table
    /// cannot grow.
    auto throw_in(std::exception_ptr e) noexcept -> bool {
        try {
            throw_into_root(m_task, std::move(e));
            return true;
        } catch (...) {
            return false;
        }
    }

    promise_base* m_task;
    std::uint64_t m_serial;
    std::exception_ptr m_token;
    std::exception_ptr m_replaced;
    bool m_fired = false;
};

template <class T>
auto run_with_task_timeout(event_loop::duration d, task<T> body) -> task<T> {
    promise_base* self = require_current_task("task_timeout()");
    task_timeout_timer timer(self, saturating_deadline(loop_now("task_timeout()"), d));
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(body);
            co_return;
        } else {
            co_return co_await std::move(body);
        }
    } catch (...) {
        if (!timer.is_mine(std::current_exception())) {
            throw;
        }
    }
    throw timeout_error("coven: task_timeout() expired: the work was interrupted at its deadline");
}

} // namespace detail

/// Runs `body` in the calling task with a deadline `d` from now (asynkit's task_timeout(), K28).
/// At the deadline an interrupt is raised where the body waits (task_interrupt()'s mechanism, not
/// cancellation): the body unwinds, and this raises timeout_error. A body that finishes first
/// gives its value. Unlike fail_after() (a cancel scope), the timeout does not use or consume the
/// task's cancellation: a cancel of the task stays a cancelled_error, never a timeout, and the
/// interrupt it raises does not reach other tasks the body awaits (their wait is left at once).
///
/// The interrupt is an interrupt_error (a cancelled_error), so cleanup written for cancellation
/// runs; a body that catches and swallows it keeps running, and then this returns its value. A
/// shield holds it back, as it does cancellation. Nested task_timeout()s keep each their own
/// deadline: an inner one that expires while an outer one's interrupt is pending leaves that one
/// pending (the outer one wins, and unwinds the inner one too); an outer one that expires while
/// an inner one's is pending replaces it. An exception thrown in by task_throw() that is pending
/// at the deadline is raised again once the timeout is done.
/// **Cancellation:** a cancel of the task reaches the body's await as usual and comes out of
/// this as cancelled_error (never as timeout_error); the deadline's timer is disarmed as the
/// body unwinds.
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** timeout_error at the deadline; what `body` throws; usage_error outside a task or
/// for a NaN duration; std::bad_alloc.
/// **Example:** `auto reply = co_await coven::task_timeout(2s, fetch(url));`
template <class T, class Rep, class Period>
auto task_timeout(std::chrono::duration<Rep, Period> d, task<T> body) -> task<T> {
    return detail::run_with_task_timeout(detail::to_loop_duration(d, "task_timeout()"),
                                         std::move(body));
}
/// task_timeout() in seconds: `co_await coven::task_timeout(1.5, work());`.
template <class T>
auto task_timeout(double seconds, task<T> body) -> task<T> {
    return detail::run_with_task_timeout(
        detail::seconds_to_loop_duration(seconds, "task_timeout()"), std::move(body));
}

} // namespace coven
