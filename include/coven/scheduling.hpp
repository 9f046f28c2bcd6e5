#pragma once
// Scheduling control (asynkit's scheduling functions, K11-K14, K16): put tasks at chosen places
// in the ready queue, switch to a task, and ask what each task is doing.

#include <coven/any_future.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <limits>
#include <optional>
#include <vector>

namespace coven {

class event_loop;

namespace detail {
/// Queues the running `task` (to resume at `h`) so that `pos` ready tasks run before it.
void requeue_at(promise_base* task, std::coroutine_handle<> h, std::size_t pos) noexcept;
/// task_switch()'s checks and queue moves; false if a cancellation is pending (nothing moved).
auto switch_to(promise_base* self, promise_base* target, std::coroutine_handle<> h,
               std::optional<std::size_t> insert_pos) -> bool;
} // namespace detail

/// Awaiter of sleep_insert(): the task waits in the ready queue itself, like skip_ready_cycle().
class [[nodiscard, gnu::warn_unused]] sleep_insert_awaiter {
public:
    explicit sleep_insert_awaiter(std::size_t pos) noexcept : m_pos(pos) {}
    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = detail::require_current_task("sleep_insert()");
        if (detail::cancel_pending(m_task)) {
            return false; // await_resume raises it
        }
        detail::requeue_at(m_task, h, m_pos);
        return true;
    }
    void await_resume() {
        if (detail::cancel_pending(m_task)) {
            detail::throw_cancelled(m_task);
        }
    }

private:
    std::size_t m_pos;
    detail::promise_base* m_task = nullptr;
};

/// Awaiter of task_switch().
class [[nodiscard, gnu::warn_unused]] task_switch_awaiter {
public:
    task_switch_awaiter(any_future target, std::optional<std::size_t> insert_pos) noexcept
        : m_target(std::move(target)), m_insert_pos(insert_pos) {}
    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = detail::require_current_task("task_switch()");
        return detail::switch_to(m_task, &m_target.get(), h, m_insert_pos);
    }
    void await_resume() {
        if (detail::cancel_pending(m_task)) {
            detail::throw_cancelled(m_task);
        }
    }

private:
    any_future m_target;
    std::optional<std::size_t> m_insert_pos;
    detail::promise_base* m_task = nullptr;
};

/// Puts the calling task back in the ready queue so that only `pos` ready tasks run before it
/// (K11): `sleep_insert(0)` resumes it next, after nothing; a `pos` past the end is a
/// skip_ready_cycle(). In a priority loop a position overrides priorities: the task, and those
/// before it, run in that order before any priority level; a `pos` past the end (more than the
/// ready tasks) queues it by its priority, like a yield.
/// **Cancellation:** as skip_ready_cycle(): a pending cancel raises at once, one that arrives
/// while it is queued raises when it resumes.
/// **Thread safety:** from a coven task, on its loop's thread.
/// **Throws:** usage_error outside a coven task; cancelled_error.
/// **Example:** `co_await coven::sleep_insert(1); // after the next ready task`
[[nodiscard]] inline auto sleep_insert(std::size_t pos) noexcept -> sleep_insert_awaiter {
    return sleep_insert_awaiter(pos);
}

/// Moves a runnable task to place `pos` of the ready queue (K12): `pos` tasks run before it. A
/// task that queue_find() took out of the queue goes back in the same way.
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error if the task is not runnable (it waits, runs or has ended), off its
/// loop's thread, or for an empty any_future.
void task_reinsert(const any_future& task, std::size_t pos);

/// Runs `target` next and suspends the caller (K13). The caller goes back in the ready queue at
/// `insert_pos` counted after the target's move (0: before the target, so it runs first; 1: right
/// after the target), or, without one, where a skip_ready_cycle() would put it.
/// **Cancellation:** a pending cancel raises at once and moves nothing; one that arrives while
/// the caller is queued raises when it resumes. The target is not cancelled.
/// **Thread safety:** from a coven task, on its loop's thread.
/// **Throws:** usage_error outside a coven task, or if `target` is not runnable (it waits, runs
/// or has ended), is the caller, belongs to another loop, or is empty (these are checked before
/// a pending cancellation); cancelled_error.
/// **Example:** `co_await coven::task_switch(worker); // worker runs, then everything else`
[[nodiscard]] inline auto task_switch(const any_future& target,
                                      std::optional<std::size_t> insert_pos = std::nullopt)
    -> task_switch_awaiter {
    return task_switch_awaiter(target, insert_pos);
}

/// True if the task waits for something (a future, a timer, a primitive, a poll) and so is not
/// in the ready queue (K14). A task that has ended, is queued, or runs is not blocked.
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error off the task's loop thread.
[[nodiscard]] auto task_is_blocked(const any_future& task) -> bool;
/// True if the task is in the ready queue, waiting for its turn (K14).
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error off the task's loop thread.
[[nodiscard]] auto task_is_runnable(const any_future& task) -> bool;

/// The ready tasks of `loop` (default: the calling thread's), in the order they will run (K16).
/// Every live task is runnable, blocked, or running: the current task, and while a turn nests
/// (an eager start, task_interrupt()) the tasks up the stack that it interrupted.
/// **Thread safety:** the thread that drives `loop` (or any thread while nobody drives it and
/// it has no background thread).
/// **Throws:** usage_error off the loop's thread, or with no loop on this thread; std::bad_alloc.
[[nodiscard]] auto runnable_tasks(event_loop* loop = nullptr) -> std::vector<any_future>;
/// The blocked tasks of `loop` (default: the calling thread's), oldest first (K16).
/// **Thread safety:** as runnable_tasks(). **Throws:** as runnable_tasks().
[[nodiscard]] auto blocked_tasks(event_loop* loop = nullptr) -> std::vector<any_future>;
/// Every live task of `loop` (default: the calling thread's), oldest first.
/// **Thread safety:** as runnable_tasks(). **Throws:** as runnable_tasks().
[[nodiscard]] auto all_tasks(event_loop* loop = nullptr) -> std::vector<any_future>;
/// The task whose turn runs on this thread; empty outside tasks.
/// **Thread safety:** any thread. **Throws:** nothing.
[[nodiscard]] auto current_task() -> any_future;

} // namespace coven
