#pragma once
// coven::eager(): asynkit's eager execution (K1, K2, K15). A coroutine starts at once, in the
// caller's turn, and control comes back to the caller when it first suspends (C#'s async
// semantics: depth-first execution).

#include <coven/detail/owned_call.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <functional>
#include <type_traits>
#include <utility>

namespace coven {

/// Starts `t` at once as a task of the calling thread's loop and runs it until it first
/// suspends, returns or throws; then returns its future (K1). A coroutine that finished without
/// suspending gives a future that is already done (asynkit's completed future); one that
/// suspended gives a running task's future (asynkit creates the Task only then; in coven both are
/// a future). Await the future for the value.
/// **Cancellation:** the started task is a root task of its own, not part of the caller:
/// cancelling the caller does not cancel it unless the caller is awaiting its future (then
/// future's rules apply: the awaited task is cancelled too). Starting it is not a suspension
/// point of the caller, so a cancellation pending in the caller is not raised here; one pending in
/// the new task cannot exist yet.
/// **Thread safety:** a thread that drives a loop (in a task, or a callback on the loop's
/// thread).
/// **Throws:** usage_error outside a loop's thread, or for an empty or already awaited task;
/// std::bad_alloc. What the task throws, even in its first run, stays in its future.
/// **Example:**
/// ```
/// auto f = coven::eager(get_slow_remote_data()); // the request is in flight now
/// auto partial = co_await some_local_computation();
/// co_return combine(partial, co_await f);
/// ```
template <class T>
auto eager(task<T> t) -> future<T> {
    event_loop* loop = current_loop();
    if (loop == nullptr) {
        detail::throw_usage("coven::eager() outside a loop's thread; call it from a task (or use "
                            "coven::run())");
    }
    return loop->create_task_eager(std::move(t));
}

/// asynkit's `create_task_descend(coro)` (K15): the same depth-first start as eager().
/// Cancellation, threads and errors as eager().
template <class T>
auto create_task_descend(task<T> t) -> future<T> {
    return eager(std::move(t));
}

/// asynkit's `@eager` on a function (K2, func_eager): every call starts eagerly and returns a
/// future.
/// **Cancellation:** as eager().
/// **Thread safety:** calls as eager(): on a thread that drives a loop.
/// **Throws:** a call throws what eager() throws, and what copying the callable or the arguments
/// throws.
/// **Example:**
/// ```
/// const coven::eager_function fetch = [](int id) -> coven::task<data> {...};
/// auto f = fetch(7); // running (or done) already
/// ```
template <class F>
class eager_function {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): `coven::eager_function f = [](...) {...};`
    eager_function(F fn) noexcept(std::is_nothrow_move_constructible_v<F>) : m_fn(std::move(fn)) {}

    /// Starts a call that owns a copy of the callable and of its arguments (taken by value).
    template <class... A>
    auto operator()(A&&... args) const {
        return eager(detail::owned_call(m_fn, std::decay_t<A>(std::forward<A>(args))...));
    }

private:
    F m_fn;
};

} // namespace coven
