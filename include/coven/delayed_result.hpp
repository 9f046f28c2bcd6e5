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

/// Parks the awaiting task until a root task ends, without the cancellation cascade of
/// `co_await future`: a cancelled waiter just leaves (a delayed result is a value, not code).
class result_wait : public waiter, public completion_node {
public:
    explicit result_wait(promise_base* target) noexcept : m_target(target) {}
    result_wait(const result_wait&) = delete;
    auto operator=(const result_wait&) -> result_wait& = delete;
    ~result_wait() {
        if (linked()) { // only when a suspended frame is destroyed at loop teardown
            remove_completion(m_target, this);
        }
    }
    [[nodiscard]] auto await_ready() const noexcept -> bool {
        return m_target->has(promise_base::f_done);
    }
    auto await_suspend(std::coroutine_handle<> h) -> bool {
        m_task = require_current_task("co_await delayed_result");
        if (m_task == m_target) {
            throw_usage("a function awaited its own delayed_result; it would wait forever");
        }
        require_loop_thread(m_target, "co_await delayed_result (from another loop)");
        if (t_sync_depth != 0) {
            refuse_cross_loop_wait_in_sync_run(m_task, m_target, "co_await delayed_result");
        }
        if (cancel_pending(m_task)) {
            m_cancelled = true;
            return false;
        }
        m_on_cancel = [](waiter* w, promise_base* task) noexcept {
            auto* self = static_cast<result_wait*>(w);
            remove_completion(self->m_target, self);
            self->m_cancelled = true;
            wake(task);
            return cancel_result::unlinked;
        };
        m_fire = [](completion_node* c, promise_base*) noexcept {
            wake(static_cast<result_wait*>(c)->m_task);
        };
        park(m_task, this, h);
        add_completion(m_target, this);
        return true;
    }

protected:
    void throw_if_cancelled() {
        if (m_cancelled) {
            throw_cancelled(m_task);
        }
    }

private:
    promise_base* m_target;
    promise_base* m_task = nullptr;
    bool m_cancelled = false;
};

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
/// **Throws:** value() and block() rethrow the function's exception, or cancelled_error if it was
/// cancelled; block() throws usage_error inside a task (co_await instead).
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
    /// **Throws:** the function's error; usage_error inside a task.
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
            throw_if_cancelled();
            return m_result->take();
        }
        const delayed_result* m_result;
    };
    /// Waits for the result. Waiting does not run anything: cancelling the waiting task stops
    /// the wait (cancelled_error) but not the function, whose result stays for others.
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
