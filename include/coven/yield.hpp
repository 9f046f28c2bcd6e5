#pragma once
// skip_ready_cycle() and skip_poll_cycle(): give other tasks a turn (S10, S11).

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/source_location.hpp>

#include <coroutine>

namespace coven {

namespace detail {

/// Appends the running task to the ready queue, to be resumed at `h`.
inline void requeue(promise_base* task, std::coroutine_handle<> h) noexcept {
    task->m_resume = h; // a running task parks nowhere: push_ready may take the waiter word
    task->m_loop->push_ready(task);
}

} // namespace detail

/// Awaiter of skip_ready_cycle(). The task waits in the ready queue itself, so there is nothing
/// to unlink on cancel: a cancel that arrives meanwhile is found when it resumes. When no other
/// task is ready, it does not suspend at all (loop_core::take_turn_in_place()).
class [[nodiscard, gnu::warn_unused]] ready_cycle_awaiter {
public:
    ready_cycle_awaiter() noexcept = default;
    ready_cycle_awaiter(const ready_cycle_awaiter&) = delete;
    auto operator=(const ready_cycle_awaiter&)->ready_cycle_awaiter& = delete;

    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = detail::require_current_task("skip_ready_cycle()");
        if (detail::cancel_pending(m_task)) {
            return false; // await_resume delivers it
        }
        // Here rather than in await_ready(), so that a yield that does go through the queue pays
        // one more test, not a second current-task and cancel check.
        if (m_task->m_loop->take_turn_in_place(m_task)) {
            return false; // nothing else is ready: its turn, at once
        }
        detail::requeue(m_task, h);
        return true;
    }
    void await_resume() {
        // A cancel pending before the yield, or one that arrived while queued.
        if (detail::cancel_pending(m_task)) {
            detail::throw_cancelled(m_task);
        }
    }

private:
    detail::promise_base* m_task = nullptr;
};

/// Awaiter of skip_poll_cycle().
class [[nodiscard, gnu::warn_unused]] poll_cycle_awaiter : private detail::waiter,
                                                           private detail::poll_link {
public:
    poll_cycle_awaiter() noexcept = default;
    poll_cycle_awaiter(const poll_cycle_awaiter&) = delete;
    auto operator=(const poll_cycle_awaiter&)->poll_cycle_awaiter& = delete;
    ~poll_cycle_awaiter() {
        if (linked()) { // a suspended frame destroyed at loop teardown
            unlink();
        }
    }

    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = detail::require_current_task("skip_poll_cycle()");
        if (detail::cancel_pending(m_task)) {
            m_cancel_seen = true;
            return false;
        }
        m_on_cancel = [](detail::waiter* w, detail::promise_base* t) noexcept {
            auto* self = static_cast<poll_cycle_awaiter*>(w);
            self->m_cancel_seen = true;
            self->unlink(); // (from whichever of the loop's lists holds it)
            detail::wake(t);
            return detail::cancel_result::unlinked;
        };
        detail::park(m_task, this, h);
        detail::wait_for_poll(m_task, this);
        return true;
    }
    void await_resume() {
        if (m_cancel_seen) {
            detail::throw_cancelled(m_task);
        }
    }

private:
    bool m_cancel_seen = false;
};

/// Suspends the calling task until every task that is ready now has had its turn (S10). No I/O
/// poll happens in between: the ready queue drains first.
/// **Cancellation:** a cancel while parked makes it throw cancelled_error when it resumes (the
/// task stays in its place in the ready queue: nothing to unlink). A cancellation already
/// pending raises at once, also when no other task is ready. future::abort() of a task queued
/// here cancels it as cancel() does.
/// **Thread safety:** from a coven task, on its loop's thread.
/// **Throws:** usage_error outside a coven task; cancelled_error.
/// **Example:** `co_await coven::skip_ready_cycle();`
[[nodiscard]] inline auto
skip_ready_cycle(coven::source_location where = coven::source_location::current()) noexcept
    -> ready_cycle_awaiter {
    detail::note_await_site(where); // (await_sync() says where it blocked)
    return {};
}

/// Suspends the calling task until after the loop's next I/O poll (S11). The loop polls only
/// when no task is ready (or when the starvation guard, loop_options::io_poll_interval, forces
/// a poll), so every task that is ready keeps running before this one resumes.
/// **Cancellation:** cancelling unlinks the waiter and resumes the task at once with
/// cancelled_error; a cancellation already pending raises without parking. One that arrives
/// after the poll woke the task is raised at its next await.
/// **Thread safety:** from a coven task, on its loop's thread.
/// **Throws:** usage_error outside a coven task; cancelled_error.
[[nodiscard]] inline auto
skip_poll_cycle(coven::source_location where = coven::source_location::current()) noexcept
    -> poll_cycle_awaiter {
    detail::note_await_site(where);
    return {};
}

} // namespace coven
