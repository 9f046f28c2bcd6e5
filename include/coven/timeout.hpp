#pragma once
// Timeouts: move_on_after/at, fail_after/at and repeat_timeout (B1, S13), all thin layers on
// cancel_scope. future::apply_timeout (S12) is in coven/future.hpp.
//
// Two spellings each:
//   auto v = co_await coven::fail_after(2s, fetch());     // one awaitable: T, or timeout_error
//   coven::fail_scope scope = coven::fail_after(2s);      // a scope object around a block
//   co_await scope.run([&]() -> coven::task<> { ... });   // T, or timeout_error

#include <coven/cancel_scope.hpp>
#include <coven/duration.hpp>
#include <coven/event_loop.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {
template <class Work, bool Fail>
using timeout_awaiter = owning_scope_awaiter<stored_work_t<Work>, Fail>;
} // namespace detail

// --- scope objects ---------------------------------------------------------------------------

/// A cancel_scope whose deadline is `t`: a block run in it is cancelled when the clock reaches
/// `t`, and the scope absorbs that quietly (run() returns an empty result).
/// **Thread safety:** any thread; the scope is then used on the loop's thread of the task that
/// runs it (see cancel_scope).
[[nodiscard]] inline auto move_on_at(event_loop::time_point t) noexcept -> cancel_scope {
    return cancel_scope(t);
}
/// move_on_at(now + d). The deadline counts from this call.
/// **Thread safety:** a thread that drives a loop (now is that loop's clock).
/// **Throws:** usage_error off a loop thread, or for a NaN duration.
template <class Rep, class Period>
[[nodiscard]] auto move_on_after(std::chrono::duration<Rep, Period> d) -> cancel_scope {
    return cancel_scope(
        detail::deadline_after(detail::to_loop_duration(d, "move_on_after()"), "move_on_after()"));
}
[[nodiscard]] inline auto move_on_after(double seconds) -> cancel_scope {
    return cancel_scope(detail::deadline_after(
        detail::seconds_to_loop_duration(seconds, "move_on_after()"), "move_on_after()"));
}

/// A fail_scope whose deadline is `t`: when it stops the block, run() throws timeout_error once
/// the block has unwound; otherwise run() returns the block's value.
[[nodiscard]] inline auto fail_at(event_loop::time_point t) noexcept -> fail_scope {
    return fail_scope(t);
}
/// fail_at(now + d). The deadline counts from this call.
/// **Thread safety:** a thread that drives a loop.
/// **Throws:** usage_error off a loop thread, or for a NaN duration.
template <class Rep, class Period>
[[nodiscard]] auto fail_after(std::chrono::duration<Rep, Period> d) -> fail_scope {
    return fail_scope(
        detail::deadline_after(detail::to_loop_duration(d, "fail_after()"), "fail_after()"));
}
[[nodiscard]] inline auto fail_after(double seconds) -> fail_scope {
    return fail_scope(detail::deadline_after(
        detail::seconds_to_loop_duration(seconds, "fail_after()"), "fail_after()"));
}

// --- one-expression forms --------------------------------------------------------------------
// `work` is a task<T>, a callable returning one (a lambda standing for a block), a future<T>, or
// a callable returning any awaitable (`[] { return coven::sleep(5s); }`).

/// Runs `work` with a deadline `t`; returns scope_result_t<T>: the value, or empty if the
/// deadline stopped it.
/// **Cancellation:** on expiry the work is cancelled and has unwound before this returns; a
/// result that arrived first is returned. An outer cancellation is raised as cancelled_error,
/// never reported as the deadline.
/// **Thread safety:** made and awaited in a coven task, on its loop's thread (the duration forms
/// read that loop's clock when they are called).
/// **Throws:** usage_error outside a coven task, and (the duration forms) off a loop thread or
/// for a NaN duration; what the work throws; std::bad_alloc.
/// **Example:** `std::optional<int> v = co_await coven::move_on_after(2s, fetch());`
template <class Work>
[[nodiscard]] auto move_on_at(event_loop::time_point t, Work&& work)
    -> detail::timeout_awaiter<Work, false> {
    return detail::timeout_awaiter<Work, false>(t, std::forward<Work>(work));
}
template <class Rep, class Period, class Work>
[[nodiscard]] auto move_on_after(std::chrono::duration<Rep, Period> d, Work&& work)
    -> detail::timeout_awaiter<Work, false> {
    return detail::timeout_awaiter<Work, false>(
        detail::deadline_after(detail::to_loop_duration(d, "move_on_after()"), "move_on_after()"),
        std::forward<Work>(work));
}
template <class Work>
[[nodiscard]] auto move_on_after(double seconds, Work&& work)
    -> detail::timeout_awaiter<Work, false> {
    return detail::timeout_awaiter<Work, false>(
        detail::deadline_after(detail::seconds_to_loop_duration(seconds, "move_on_after()"),
                               "move_on_after()"),
        std::forward<Work>(work));
}

/// Runs `work` with a deadline `t`; returns its value, or throws timeout_error once the work has
/// unwound if the deadline stopped it.
/// **Cancellation:** as move_on_at(); cancelled_error and timeout_error are unrelated types, and
/// an outer cancellation is always cancelled_error.
/// **Thread safety:** as move_on_at(t, work).
/// **Throws:** timeout_error on expiry; otherwise as move_on_at(t, work).
/// **Example:** `int v = co_await coven::fail_after(2s, fetch());`
template <class Work>
[[nodiscard]] auto fail_at(event_loop::time_point t, Work&& work)
    -> detail::timeout_awaiter<Work, true> {
    return detail::timeout_awaiter<Work, true>(t, std::forward<Work>(work));
}
template <class Rep, class Period, class Work>
[[nodiscard]] auto fail_after(std::chrono::duration<Rep, Period> d, Work&& work)
    -> detail::timeout_awaiter<Work, true> {
    return detail::timeout_awaiter<Work, true>(
        detail::deadline_after(detail::to_loop_duration(d, "fail_after()"), "fail_after()"),
        std::forward<Work>(work));
}
template <class Work>
[[nodiscard]] auto fail_after(double seconds, Work&& work) -> detail::timeout_awaiter<Work, true> {
    return detail::timeout_awaiter<Work, true>(
        detail::deadline_after(detail::seconds_to_loop_duration(seconds, "fail_after()"),
                               "fail_after()"),
        std::forward<Work>(work));
}

// --- repeat_timeout --------------------------------------------------------------------------

namespace detail {
template <class Body>
auto repeat_timeout_loop(event_loop::duration d, Body body) -> task<void> {
    using value = typename work_traits<Body&>::value_type;
    static_assert(std::is_void_v<value> || std::is_same_v<value, bool>,
                  "repeat_timeout()'s body returns task<void> (repeat until something throws) "
                  "or task<bool> (false ends the loop)");
    for (;;) {
        // A fresh scope per iteration: the deadline counts from the start of each one.
        auto deadline = deadline_after(d, "repeat_timeout()");
        if constexpr (std::is_void_v<value>) {
            co_await owning_scope_awaiter<Body&, true>(deadline, body);
        } else if (!co_await owning_scope_awaiter<Body&, true>(deadline, body)) {
            co_return;
        }
    }
}
} // namespace detail

/// Runs `body` again and again, each iteration under a fresh timeout of `d` (scarletio's
/// `with repeat_timeout(d) as loop: for _ in loop:`, S13). The body returns `task<void>` (loop
/// until it throws) or `task<bool>` (false ends the loop).
/// **Cancellation:** an iteration that overruns is cancelled; once it has unwound the loop
/// throws timeout_error. Cancelling the awaiting task raises cancelled_error.
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** timeout_error when an iteration overruns; what the body throws; usage_error for a
/// NaN duration or outside a coven task; std::bad_alloc.
/// **g++ 12:** a body written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a body first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::repeat_timeout(5s, [&]() -> coven::task<> {
///     co_await say_after("hi", after);
///     after += 2;
/// });
/// ```
template <class Rep, class Period, class Body>
[[nodiscard]] auto repeat_timeout(std::chrono::duration<Rep, Period> d, Body body) -> task<void> {
    static_assert(detail::returns_task<Body>(),
                  "repeat_timeout()'s body must be callable with no arguments and return "
                  "coven::task<> or coven::task<bool>: write [&]() -> coven::task<> { ... }");
    return detail::repeat_timeout_loop(detail::to_loop_duration(d, "repeat_timeout()"),
                                       std::move(body));
}
template <class Body>
[[nodiscard]] auto repeat_timeout(double seconds, Body body) -> task<void> {
    static_assert(detail::returns_task<Body>(),
                  "repeat_timeout()'s body must be callable with no arguments and return "
                  "coven::task<> or coven::task<bool>: write [&]() -> coven::task<> { ... }");
    return detail::repeat_timeout_loop(
        detail::seconds_to_loop_duration(seconds, "repeat_timeout()"), std::move(body));
}

} // namespace coven
