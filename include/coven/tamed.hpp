#pragma once
// coven::tamed: async-tamer's @tamed (T1-T3). An async function declared once and called three
// ways: from synchronous code it blocks and returns its value; from a task it is awaited; with
// in_scope(scope) as its last argument it is scheduled into an async_scope.

#include <coven/async_scope.hpp>
#include <coven/delayed_result.hpp>
#include <coven/detail/owned_call.hpp>
#include <coven/error.hpp>
#include <coven/run.hpp>
#include <coven/task.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace coven {

/// The seed's `_async_scope=scope`: passed as the last argument of a tamed function, it schedules
/// the call into `scope` and the call returns a delayed_result at once (T3).
struct in_scope {
    explicit in_scope(async_scope& s) noexcept : scope(&s) {}
    async_scope* scope;
};

namespace detail {

/// True when the last of `A...` is in_scope.
template <class... A>
struct last_is_in_scope : std::false_type {};
template <class A0, class... A>
struct last_is_in_scope<A0, A...>
    : std::is_same<std::remove_cvref_t<std::tuple_element_t<sizeof...(A), std::tuple<A0, A...>>>,
                   in_scope> {};
} // namespace detail

/// One call of a tamed function, not started yet. What it becomes depends on where it is used:
///  - `co_await f(args...)` in a task: an ordinary awaited call (T2);
///  - `f(args...).get()`, or converting it to its value (`int v = f(args...);`) in synchronous
///    code: runs it on this_thread_loop() and blocks until it ends (T1);
///  - `f(args...);` as a statement in synchronous code: the same, at the end of the statement
///    (the destructor blocks, and raises the call's exception).
/// **Cancellation:** the awaited form is an awaited task<T>: cancelling the awaiting task reaches
/// the await inside the call. The blocking forms are not awaitables: nothing cancels them from
/// outside; they end when the call does.
/// **Thread safety:** the awaited form from a coven task on its loop's thread; the blocking forms
/// on a thread that drives no loop (they drive the thread's own this_thread_loop()). A
/// tamed_call is used once, on one thread.
/// **Throws:** usage_error for a blocking use on a loop's thread, including the statement form
/// inside a task (a forgotten co_await; reported to the unobserved-exception handler, since a
/// destructor there cannot throw); whatever the call throws; std::bad_alloc.
template <class T>
class tamed_call { // not [[nodiscard]]: the statement form is a use
public:
    explicit tamed_call(task<T> t) noexcept : m_task(std::move(t)) {}
    tamed_call(tamed_call&& o) noexcept
        : m_task(std::move(o.m_task)), m_used(std::exchange(o.m_used, true)),
          m_uncaught(o.m_uncaught) {}
    tamed_call(const tamed_call&) = delete;
    auto operator=(const tamed_call&) -> tamed_call& = delete;
    auto operator=(tamed_call&&) -> tamed_call& = delete;

    /// The statement form: runs the call to its end unless it was awaited, taken or moved. Not
    /// while an exception unwinds (the call is dropped unstarted then). On a loop's thread it
    /// would block the loop: the call is dropped unstarted, and the misuse is reported as a
    /// usage_error to the unobserved-exception handler (a destructor there may run inside a
    /// coroutine frame's destruction, where throwing would terminate the program).
    ~tamed_call() noexcept(false) {
        if (m_used || std::uncaught_exceptions() > m_uncaught) {
            return;
        }
        if (detail::drives_a_loop()) {
            m_task = {};
            detail::report_unobserved_error(
                std::make_exception_ptr(usage_error(
                    "coven: a tamed function was called in a task without co_await; write "
                    "`co_await f(...)` (or schedule it: f(..., coven::in_scope(s))); the call "
                    "did not run")),
                "a tamed call");
            return;
        }
        (void)std::move(*this).get();
    }

    /// T2: awaited from a task.
    auto operator co_await() && {
        m_used = true;
        return std::move(m_task).operator co_await();
    }

    /// T1: runs the call on this_thread_loop(), blocking until it ends.
    /// **Throws:** usage_error on a loop's thread; what the call throws.
    auto get() && -> T {
        m_used = true;
        detail::refuse_blocking("a tamed function's blocking call", "co_await it instead");
        return this_thread_loop().run_until_complete(std::move(m_task));
    }
    /// T1: `int v = f(args...);`
    // NOLINTNEXTLINE(google-explicit-constructor): the seed's `value = f(...)` in sync code
    operator T() && requires(!std::is_void_v<T>) { return std::move(*this).get(); }

    /// The call as a plain task (to spawn it, or hand it to gather()).
    auto into_task() && -> task<T> {
        m_used = true;
        return std::move(m_task);
    }

private:
    task<T> m_task;
    bool m_used = false;
    int m_uncaught = std::uncaught_exceptions();
};

/// async-tamer's `@tamed` (T1-T3): wraps a coroutine function (usually a lambda returning
/// task<T>) so that one declaration serves synchronous code, tasks and scopes.
/// **Example:**
/// ```
/// inline const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<> {
///     co_await coven::sleep(delay);
///     std::cout << msg << '\n';
/// };
/// slow_echo("sync", 0.5);                          // blocks half a second (T1)
/// co_await slow_echo("async", 0.1);                // in a task (T2)
/// slow_echo("scoped", 0.2, coven::in_scope(scope)); // scheduled, returns a delayed_result (T3)
/// ```
/// **Cancellation:** see tamed_call; a scheduled call is cancelled with its scope (async_scope).
/// **Thread safety:** a tamed object may be called from any thread (it copies the callable);
/// each call then follows tamed_call's or async_scope::spawn()'s rules.
/// **Throws:** a scheduled call throws what async_scope::spawn() throws; the others, see
/// tamed_call. Copying the callable or the arguments may throw.
template <class F>
class tamed {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): `coven::tamed f = [](...) -> task<T> {...};`
    tamed(F fn) noexcept(std::is_nothrow_move_constructible_v<F>) : m_fn(std::move(fn)) {}

    /// A call; with in_scope(s) as the last argument, scheduled into `s` (see the class comment).
    /// The call owns a copy of the callable and of its arguments (taken by value), so neither
    /// this object nor the caller's temporaries need to outlive it.
    template <class... A>
    auto operator()(A&&... args) const {
        if constexpr (detail::last_is_in_scope<A...>::value) {
            return scoped(std::forward_as_tuple(std::forward<A>(args)...),
                          std::make_index_sequence<sizeof...(A) - 1>{});
        } else {
            return tamed_call<detail::owned_call_value_t<F, std::decay_t<A>...>>(
                detail::owned_call(m_fn, std::decay_t<A>(std::forward<A>(args))...));
        }
    }

private:
    template <class Tuple, std::size_t... I>
    auto scoped(Tuple&& args, std::index_sequence<I...>) const {
        async_scope& scope = *std::get<sizeof...(I)>(args).scope;
        return scope.spawn(detail::owned_call(
            m_fn, std::decay_t<std::tuple_element_t<I, std::remove_reference_t<Tuple>>>(
                      std::get<I>(std::forward<Tuple>(args)))...));
    }

    F m_fn;
};

} // namespace coven
