#pragma once
// coven::await_sync(): asynkit's await_sync, syncfunction and asyncfunction (K3, K4). Async code
// that never really suspends runs to its end from synchronous code, with no loop at all.

#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/source_location.hpp>
#include <coven/task.hpp>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

namespace coven {

/// Runs `t` to its end on the calling thread, with no loop (K3): async code that does not block
/// (its awaits all finish at once: sub-tasks that return, results already there) works from
/// synchronous code, and one code path serves both worlds. If `t` really suspends, it is
/// cancelled and unwound, and synchronous_error says where: at the awaitable it blocked on when
/// that one records its site (sleep(), the yields), else at this call. Code inside sees no
/// current loop: making tasks there is a usage_error.
/// **Cancellation:** not an awaitable: `t` runs on a private loop of the calling thread, which no
/// cancel of the calling task reaches. A `t` that suspends is cancelled, and unwound as loop
/// stop unwinds a task (its cleanup may await; a task that ignores the cancellation is
/// destroyed), before synchronous_error is thrown.
/// **Throws:** what `t` throws; synchronous_error if it suspends; usage_error for an empty task,
/// or (from inside `t`) for an await on a task of another loop; std::bad_alloc.
/// **Thread safety:** any thread, inside a task too (that task's loop is not touched, and
/// bridges that block, such as thread_safe_future::sync_wrap().wait(), still refuse to block a
/// thread that drives a loop).
/// **Example:** `std::string s = coven::await_sync(render(template_, values));`
template <class T>
auto await_sync(task<T> t, coven::source_location where = coven::source_location::current()) -> T {
    if (!t.valid()) {
        detail::throw_usage("await_sync() got an empty task (moved from or already spawned)");
    }
    future<T> f = detail::spawn_unqueued(detail::sync_loop(), std::move(t));
    if (!detail::run_sync_turn(&f.promise())) {
        const bool at_awaitable = detail::t_sync_site_set;
        const coven::source_location blocked = at_awaitable ? detail::t_sync_site : where;
        detail::abandon_sync_run(&f.promise());
        throw synchronous_error(std::string("coven: await_sync(): the coroutine suspended ") +
                                    (at_awaitable ? "at the awaitable made at "
                                                  : "(at an await that needs a loop) "
                                                    "inside the call at ") +
                                    blocked.file_name() + ":" + std::to_string(blocked.line()) +
                                    "; it can run without a loop only if it never really suspends",
                                blocked);
    }
    return detail::take_outcome(f);
}

/// asynkit's `@syncfunction` (K4): a coroutine function whose calls run through await_sync().
/// **Cancellation:** none: a call is synchronous (see await_sync()).
/// **Throws:** a call throws what await_sync() throws, and what `fn` throws making the task.
/// **Thread safety:** as await_sync(); calls on one object from several threads are fine while
/// `fn` is.
/// **Example:**
/// ```
/// const coven::sync_function greet = []() -> coven::task<std::string> { co_return "hi"; };
/// std::string s = greet();
/// ```
template <class F>
class sync_function {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): `coven::sync_function f = [](...) {...};`
    sync_function(F fn) noexcept(std::is_nothrow_move_constructible_v<F>) : m_fn(std::move(fn)) {}
    template <class... A>
    auto operator()(A&&... args) const -> decltype(auto) {
        return await_sync(std::invoke(m_fn, std::forward<A>(args)...));
    }

private:
    F m_fn;
};

/// asynkit's `asyncfunction()` (K4): a synchronous callable made a coroutine function, to pass
/// where async callbacks are expected. The call runs when the task is awaited, and never
/// suspends.
/// **Cancellation:** the task has no suspension point, so awaiting it does not see a pending
/// cancellation: the callable runs to its end.
/// **Throws:** a call throws std::bad_alloc (the task's frame) and what copying the callable or
/// the arguments throws; awaiting the task throws what the callable throws.
/// **Thread safety:** making the task: any thread; the callable runs on the thread that awaits
/// the task (or await_sync()s it).
template <class F>
class async_function {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): `coven::async_function f = [](...) {...};`
    async_function(F fn) noexcept(std::is_nothrow_move_constructible_v<F>) : m_fn(std::move(fn)) {}
    /// A task that calls a copy of the callable with copies of `args` (the task owns them).
    template <class... A>
    auto operator()(A... args) const {
        return call(m_fn, std::move(args)...);
    }

private:
    template <class... A>
    static auto call(F fn, A... args) -> task<std::invoke_result_t<F&, A&...>> {
        co_return std::invoke(fn, args...);
    }
    F m_fn;
};

} // namespace coven
