#pragma once
// Interrupts (asynkit's task_throw() and task_interrupt(), K26, K27): an exception thrown into
// another task, raised at the point where it waits.

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/future.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {
/// The checks and the kernel calls behind task_throw() (`run_now` false) and task_interrupt().
auto interrupt_task(promise_base* target, std::exception_ptr e, bool run_now, const char* what)
    -> bool;
} // namespace detail

/// Makes `target`'s task runnable with `e` pending (K26): the await it is parked in ends at once
/// and raises `e` there, as if that await had thrown it. A task that is already queued (what it
/// waited for has arrived) keeps that and raises `e` at its next await; a task that has not
/// started ends with `e` and its body never runs; the task calling task_throw() on itself raises
/// `e` at its next await.
///
/// Unlike cancel(), the exception does not reach what the task awaits: a task awaiting another
/// task's future stops waiting, and that other task runs on untouched. A task waiting at the end
/// of a task_scope still waits for the scope's children, which are cancelled, and raises `e`
/// after. A task inside an enter_executor() block raises it once the block has left the pool.
/// A shielded cancel_scope holds `e` back, as it holds back cancellation, until it is left.
///
/// An exception thrown in and not raised yet is replaced by a later one (as in asynkit); one
/// that is still pending when the task ends is dropped. A pending cancellation is not lost: it
/// is raised at the await after `e`. A task ended by an exception derived from cancelled_error
/// (interrupt_error) counts as cancelled.
/// **Cancellation:** not an awaitable. Every wait of the target leaves as it does for a cancel
/// (the rules of docs/sync.md apply: a lock, permit or value handed to it passes on), except that
/// nothing it awaits is cancelled. An exception thrown into a task whose future::abort() is
/// pending is dropped with the task.
/// **Thread safety:** the thread that drives the target's loop (a task of that loop, or a
/// callback on its thread).
/// **Throws:** usage_error if the task has ended, off the task's loop thread, or for a null
/// exception_ptr or an empty future; std::bad_alloc (the pending exception is stored).
/// **Example:** `coven::task_throw(worker, std::make_exception_ptr(reload_config{}));`
template <class T>
void task_throw(const future<T>& target, std::exception_ptr e) {
    detail::interrupt_task(&target.promise(), std::move(e), false, "task_throw()");
}
/// task_throw() with an exception object: `coven::task_throw(worker, reload_config{});`
// clang-format off
template <class T, class E>
    requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>)
void task_throw(const future<T>& target, E&& exc) {
    // clang-format on
    task_throw(target, std::make_exception_ptr(std::forward<E>(exc)));
}

/// task_throw(), then runs the target at once (K27), nested in the caller's turn: when this
/// returns, the target has raised `e` and run until it waited again or ended; then the caller
/// goes on. asynkit awaits its task_interrupt(); coven's is a plain call, because the target's
/// turn runs inside it. Returns true if `e` was raised in the target; false if it stays pending
/// (a shield holds it back, the target is still inside an enter_executor() block or waiting for
/// a task_scope's children, it is running further up this thread's stack, or turns nest too
/// deep: it then runs in its normal turn), or if it was dropped because the target, already
/// queued, ended before its next await.
/// **Cancellation:** as task_throw(). An exception thrown into a task whose future::abort() is
/// pending is dropped with it, and this returns false.
/// **Thread safety:** as task_throw(): the thread that drives the target's loop.
/// **Throws:** usage_error if the target has ended, is the calling task, runs on a loop this
/// thread does not drive, or for a null exception_ptr or an empty future; std::bad_alloc. What
/// the target raises stays in the target (its future), not thrown here.
/// **Example:**
/// ```
/// auto worker = loop->create_task(serve());
/// co_await coven::sleep(0);           // it is waiting now
/// coven::task_interrupt(worker);       // it has raised interrupt_error on return
/// ```
template <class T>
auto task_interrupt(const future<T>& target,
                    std::exception_ptr e = std::make_exception_ptr(interrupt_error())) -> bool {
    return detail::interrupt_task(&target.promise(), std::move(e), true, "task_interrupt()");
}
/// task_interrupt() with an exception object.
// clang-format off
template <class T, class E>
    requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>)
auto task_interrupt(const future<T>& target, E&& exc) -> bool {
    // clang-format on
    return task_interrupt(target, std::make_exception_ptr(std::forward<E>(exc)));
}

} // namespace coven
