#pragma once
// coven::task_timeout(): asynkit's task_timeout (K28), a timeout built on interrupts instead of
// cancellation.

#include <coven/detail/duration.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/detail/timer_node.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/sleep.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {

/// What a task_timeout() raises in its task when the deadline passes; it never leaves
/// task_timeout(), which turns it into timeout_error.
class timeout_interrupt : public interrupt_error {
public:
    using interrupt_error::interrupt_error;
};

/// The deadline of one task_timeout(): a timer in the waiting frame. On expiry it throws its own
/// exception (its token) into the task. An exception thrown in earlier and not raised yet (an
/// outer task_timeout's, a task_throw()) is taken aside and thrown back in when this one is done,
/// so that nested timeouts never lose each other.
class task_timeout_timer : private timer_node {
public:
    task_timeout_timer(promise_base* task, event_loop::time_point deadline)
        : m_task(task),
          m_token(std::make_exception_ptr(timeout_interrupt("coven: task_timeout() expired"))) {
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
            if (m_replaced) {
                try {
                    throw_into_root(m_task, std::move(m_replaced)); // raised at its next await
                } catch (...) { // out of memory: that one is lost, as an unraised throw is
                }
            }
        }
    }
    /// True if `e` is this timeout's own exception.
    [[nodiscard]] auto is_mine(const std::exception_ptr& e) const noexcept -> bool {
        return m_fired && e == m_token;
    }

private:
    void fire() noexcept {
        m_fired = true;
        m_replaced = take_interrupt(m_task);
        try {
            throw_into_root(m_task, m_token);
        } catch (...) { // out of memory for the side table: put back what was there
            if (m_replaced) {
                try {
                    throw_into_root(m_task, std::move(m_replaced));
                } catch (...) {
                }
            }
            m_fired = false;
        }
    }

    promise_base* m_task;
    std::exception_ptr m_token;
    std::exception_ptr m_replaced;
    bool m_fired = false;
};

template <class T>
auto run_with_task_timeout(event_loop::duration d, task<T> body) -> task<T> {
    promise_base* self = require_current_task("task_timeout()");
    task_timeout_timer timer(self, loop_now("task_timeout()") + d);
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
/// deadline: an inner one that expires while an outer one's interrupt is pending puts that one
/// back once it is done.
/// **Throws:** timeout_error at the deadline; what `body` throws; usage_error outside a task.
/// **Example:** `auto reply = co_await coven::task_timeout(2s, fetch(url));`
template <class T, class Rep, class Period>
auto task_timeout(std::chrono::duration<Rep, Period> d, task<T> body) -> task<T> {
    return detail::run_with_task_timeout(detail::to_loop_duration(d), std::move(body));
}
/// task_timeout() in seconds: `co_await coven::task_timeout(1.5, work());`.
template <class T>
auto task_timeout(double seconds, task<T> body) -> task<T> {
    return task_timeout(std::chrono::duration<double>(seconds < 0 ? 0.0 : seconds),
                        std::move(body));
}

} // namespace coven
