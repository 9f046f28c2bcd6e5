#pragma once
// coven::gather(): await several calls at once (asyncio.gather), structured: a failure cancels
// the others, and nothing is left running when it returns.

#include <coven/future.hpp>
#include <coven/tamed.hpp>
#include <coven/task.hpp>
#include <coven/task_scope.hpp>

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
    } else {
        return std::move(f.result());
    }
}

} // namespace detail

/// Runs every call concurrently, as tasks of the current loop, and returns their results in
/// order once all have ended (asyncio.gather); a void call gives std::monostate. The first
/// failure cancels the others; their failures are raised once all have unwound (one as itself,
/// several as aggregate_error). Takes task<T> and tamed_call<T> (a tamed function's call).
/// **Cancellation:** cancelling the awaiting task cancels every call, and raises cancelled_error
/// once they have unwound.
/// **Example:** `auto [a, b] = co_await coven::gather(fetch(1), fetch(2));`
template <class... A>
auto gather(A... calls)
    -> task<std::tuple<detail::gathered_t<typename detail::gather_traits<A>::value>...>> {
    task_scope scope({.name = "gather"});
    auto futures =
        std::make_tuple(scope.spawn(detail::gather_traits<A>::into_task(std::move(calls)))...);
    scope.finalize();
    co_await scope;
    co_return std::apply([](auto&... f) { return std::make_tuple(detail::take_gathered(f)...); },
                         futures);
}

} // namespace coven
