#pragma once
// coven::delayed_result: the value of a function scheduled into an async_scope, which arrives
// late (async-tamer's DelayedResult, T4).

#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace coven {

class async_scope;
class task_scope;

namespace detail {

/// What an async_scope shares with the delayed results of its functions: the failures nobody has
/// handled yet. Kept apart from the scope because a result may outlive it.
struct async_scope_state {
    struct failure {
        std::uint64_t child;
        std::exception_ptr error;
    };
    event_loop* loop = nullptr;
    task_scope* scope = nullptr; // null once the async_scope is gone
    bool cancel_on_error = true;
    std::uint64_t next_child = 0;
    std::vector<failure> failures; // not handled yet, in the order they happened

    /// A function of the scope ended. A failure (not a cancellation) is kept until someone
    /// handles it, and under error_mode::cancel it cancels the other functions.
    void child_ended(std::uint64_t child, promise_base& ended) noexcept;
    /// The failure of `child` reached someone (block(), co_await, value()): it is theirs now.
    void handled(std::uint64_t child) noexcept;
};

/// How `co_await delayed_result` waits (detail/root_wait.hpp): without the cancellation
/// cascade of `co_await future`; a cancelled waiter just leaves (a delayed result is a value,
/// not code).
struct result_wait_policy {
    static constexpr bool cascade = false;
    static constexpr const char* what = "co_await delayed_result";
    static constexpr const char* self_wait =
        "a function awaited its own delayed_result; it would wait forever";
};
using result_wait = root_wait<result_wait_policy>;

/// Drives `loop` on the calling thread until `task` has ended (delayed_result::block()).
/// **Throws:** usage_error on a loop thread (it would stall that loop), or when another thread
/// drives `loop`.
void block_until_done(event_loop& loop, promise_base* task, const char* what);

} // namespace detail

/// The result of a function scheduled into an async_scope (T4). It is a value that arrives late,
/// not running code: waiting for it never cancels the function (cancel the scope instead). What
/// you can do with it:
///  - `value()`: the result if it has arrived; not_ready_error if not yet;
///  - `block()`: from synchronous code, drive the scope's loop until it arrives, then value();
///  - `co_await r`: from a task, wait for it;
///  - pass it (it is copyable) to another function, which awaits it.
/// A failure of the function is raised by each of these; the first one counts it as handled, and
/// the scope does not raise it again at its end (T10). (as_future() is the plain future: going
/// through it counts as nothing, and `co_await` on it cancels the function with its waiter.)
///
/// **Cancellation:** `co_await r` is a wait for a value: a waiter that is cancelled (or
/// interrupted) leaves at once and raises cancelled_error, and the function runs on. A result
/// that arrived first is returned and the cancellation stays pending for the next await; a wait
/// with a cancellation pending raises at once unless the result is there already. block() is
/// not an awaitable.
/// **Throws:** value(), block() and `co_await r` rethrow the function's exception, or
/// cancelled_error if it was cancelled; value() throws not_ready_error before it arrived; block()
/// throws usage_error inside a task or on any thread that drives a loop (co_await instead), or
/// when another thread drives the scope's loop; `co_await r` throws usage_error outside a coven
/// task, from a task of another loop, or from the function itself. Every use of an empty
/// delayed_result but ready() and as_future() is a usage_error.
/// **Thread safety:** the thread that owns the scope's loop.
/// **Example:**
/// ```
/// coven::async_scope scope;
/// coven::delayed_result<int> r = scope.spawn(compute());
/// int v = r.block();
/// ```
template <class T>
class delayed_result {
public:
    using value_type = T;
    using reference = std::add_lvalue_reference_t<T>;

    delayed_result() = default;

    /// True once the function has ended (with a value, an error or cancellation); false for an
    /// empty delayed_result.
    [[nodiscard]] auto ready() const -> bool { return m_future.valid() && m_future.done(); }

    /// The result. **Throws:** not_ready_error if it has not arrived; the function's error.
    auto value() const& -> reference {
        check_arrived();
        note_handled();
        return m_future.result();
    }
    /// On a temporary the value is returned, not a reference into the frame that goes with it.
    auto value() && -> T {
        check_arrived();
        return take();
    }

    /// Waits for the result, driving the scope's loop on this thread, and returns it.
    /// **Thread safety:** a thread that drives no loop (the scope's owner).
    /// **Throws:** the function's error; usage_error inside a task or on a loop's thread.
    auto block() const& -> reference {
        wait_here();
        note_handled();
        return m_future.result();
    }
    auto block() && -> T {
        wait_here();
        return take();
    }

    /// Awaiter of `co_await r`: the value (a copy; moved out when no other handle shares it, or
    /// when T cannot be copied), or the function's error.
    struct awaiter : detail::result_wait {
        explicit awaiter(const delayed_result& r)
            : detail::result_wait(&r.m_future.promise()), m_result(&r) {}
        auto await_resume() -> T {
            resume_or_throw_own_cancel();
            return m_result->take();
        }
        const delayed_result* m_result;
    };
    /// Waits for the result. Waiting does not run anything: cancelling the waiting task stops
    /// the wait (cancelled_error) but not the function, whose result stays for others.
    /// **Cancellation:** see the class comment. **Throws:** see the class comment.
    auto operator co_await() const -> awaiter { return awaiter(*this); }

    /// The function's task as a future (to add callbacks, or to hand to code taking futures).
    [[nodiscard]] auto as_future() const -> const future<T>& { return m_future; }

private:
    friend class async_scope;
    delayed_result(future<T> f, std::shared_ptr<detail::async_scope_state> state,
                   std::uint64_t child) noexcept
        : m_future(std::move(f)), m_state(std::move(state)), m_child(child) {}

    void check_arrived() const {
        if (!m_future.done()) {
            throw not_ready_error("coven: delayed_result::value() before the result arrived; "
                                  "block() (synchronous code) or co_await it (a task) first");
        }
    }
    void wait_here() const {
        if (!m_future.done()) {
            detail::block_until_done(*m_state->loop, &m_future.promise(),
                                     "delayed_result::block()");
        }
    }
    /// The function ended with an error that is about to be raised here: it counts as handled.
    void note_handled() const noexcept {
        const auto& p = m_future.promise();
        if (!p.has(detail::promise_base::f_cancelled) && p.m_exception) {
            m_state->handled(m_child);
        }
    }
    /// The value, by value: moved out when this is the only handle or T cannot be copied.
    auto take() const -> T {
        note_handled();
        if constexpr (std::is_void_v<T>) {
            m_future.result(); // rethrows the failure
        } else if constexpr (std::is_reference_v<T>) {
            return m_future.result();
        } else if constexpr (!std::is_copy_constructible_v<T>) {
            return std::move(m_future.result());
        } else {
            auto& v = m_future.result();
            if (m_future.promise().m_refs == 1) {
                return std::move(v);
            }
            return v;
        }
    }

    future<T> m_future;
    std::shared_ptr<detail::async_scope_state> m_state;
    std::uint64_t m_child = 0;
};

} // namespace coven
