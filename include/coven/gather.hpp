#pragma once
// coven::gather(): await several calls at once (asyncio.gather), structured: a failure cancels
// the others, and nothing is left running when it returns.

#include <coven/future.hpp>
#include <coven/tamed.hpp>
#include <coven/task.hpp>
#include <coven/task_scope.hpp>

#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace coven {

namespace detail {

template <class A>
struct gather_traits;
template <class T>
struct gather_traits<task<T>> {
    using value = T;
    static auto into_task(task<T> t) -> task<T> { return t; }
};
template <class T>
struct gather_traits<tamed_call<T>> {
    using value = T;
    static auto into_task(tamed_call<T> c) -> task<T> { return std::move(c).into_task(); }
};

/// A gathered value: void becomes std::monostate, so that the results form a tuple.
template <class T>
using gathered_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
auto take_gathered(future<T>& f) -> gathered_t<T> {
    if constexpr (std::is_void_v<T>) {
        f.result();
        return {};
    } else if constexpr (std::is_reference_v<T>) {
        return f.result();
    } else {
        return std::move(f.result());
    }
}

} // namespace detail

namespace detail {

template <class... T>
auto gather_tasks(task<T>... calls) -> task<std::tuple<gathered_t<T>...>> {
    task_scope scope({.name = "gather"});
    std::tuple<future<T>...> futures;
    std::exception_ptr spawn_failed;
    try {
        futures = std::tuple<future<T>...>(scope.spawn(std::move(calls))...);
    } catch (...) {
        spawn_failed = std::current_exception();
    }
    if (spawn_failed) { // nothing is left running: what was spawned is cancelled and waited for
        scope.cancel();
        scope.finalize();
        co_await scope.wait();
        std::rethrow_exception(spawn_failed);
    }
    scope.finalize();
    co_await scope;
    co_return std::apply(
        [](auto&... f) { return std::tuple<gathered_t<T>...>(take_gathered(f)...); }, futures);
}

} // namespace detail

/// Runs every call concurrently, as tasks of the current loop, and returns their results in
/// order once all have ended (asyncio.gather); a void call gives std::monostate. The first
/// failure cancels the others; their failures are raised once all have unwound (one as itself,
/// several as aggregate_error). Takes task<T> and tamed_call<T> (a tamed function's call),
/// turned into tasks before anything starts.
/// **Cancellation:** cancelling the awaiting task cancels every call, and raises cancelled_error
/// once they have unwound.
/// **Thread safety:** awaited from a coven task, on its loop's thread; the calls run on that
/// loop. Building the gather (this call) runs nothing and may happen anywhere.
/// **Throws:** from the co_await: the failure of a call (one as itself, several as
/// aggregate_error); cancelled_error; usage_error off a loop thread; std::bad_alloc (what was
/// spawned already is cancelled and waited for first).
/// **Example:** `auto [a, b] = co_await coven::gather(fetch(1), fetch(2));`
template <class... A>
auto gather(A... calls)
    -> task<std::tuple<detail::gathered_t<typename detail::gather_traits<A>::value>...>> {
    return detail::gather_tasks(detail::gather_traits<A>::into_task(std::move(calls))...);
}

} // namespace coven
