#pragma once
// coven::any_future: a handle on a task whose value type was erased.

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <exception>
#include <string>
#include <utility>

namespace coven {

class task_group;
class any_future;

namespace detail {
struct task_group_kernel;
/// An any_future on a live root task (takes a reference).
auto make_any_future(promise_base* p) noexcept -> any_future;
} // namespace detail

/// A future whose value type was erased: what a task_group hands back, since its tasks may
/// return different types. as<T>() gives the typed future back.
/// **Cancellation:** wait() behaves as future::wait(): cancelling the waiting task cancels the
/// awaited task too, and the waiter raises cancelled_error once that task has ended (an outcome
/// that arrived anyway is not lost: the wait returns, and the cancellation stays pending).
/// **Throws:** usage_error for every use of an empty any_future but valid(), ==, copies and
/// moves.
/// **Thread safety:** as future<T>: the loop's thread.
class any_future {
public:
    any_future() noexcept = default;
    template <class T>
    any_future(const future<T>& f) : any_future(&f.promise()) {} // NOLINT: a widening
    any_future(const any_future& o) noexcept : any_future(o.m_p) {}
    any_future(any_future&& o) noexcept : m_p(std::exchange(o.m_p, nullptr)) {}
    auto operator=(any_future o) noexcept -> any_future& {
        std::swap(m_p, o.m_p);
        return *this;
    }
    ~any_future() {
        if (m_p) {
            detail::release_root(m_p);
        }
    }

    [[nodiscard]] auto valid() const noexcept -> bool { return m_p != nullptr; }
    [[nodiscard]] auto done() const -> bool { return get().has(detail::promise_base::f_done); }
    [[nodiscard]] auto cancelled() const -> bool {
        return get().has(detail::promise_base::f_cancelled);
    }
    /// True if it ended with an exception (not by cancellation).
    [[nodiscard]] auto failed() const -> bool {
        return done() && !cancelled() && get().m_exception != nullptr;
    }
    /// Requests cancellation; false if the task had ended.
    /// **Throws:** usage_error from a thread that does not drive the task's loop.
    auto cancel() -> bool;
    /// Ends the task without resuming it where it can (future::abort()); false if it had ended.
    /// **Throws:** usage_error from a thread that does not drive the task's loop.
    auto abort() -> bool;
    [[nodiscard]] auto name() const -> std::string { return detail::root_name(&get()); }
    /// The exception it ended with (null if it returned).
    /// **Throws:** usage_error before the end; cancelled_error if it was cancelled (timeout_error
    /// if its apply_timeout() deadline cancelled it).
    [[nodiscard]] auto exception() const -> std::exception_ptr;
    /// The typed future. **Throws:** usage_error if the task's type is not `task<T>`.
    /// The check compares the promise's destroy function with task_promise<T>'s, so it needs a
    /// link without identical-code folding of functions (the default; not `--icf=all`).
    template <class T>
    [[nodiscard]] auto as() const -> future<T> {
        if (get().m_destroy != &detail::task_promise<T>::destroy_frame) {
            detail::throw_usage("any_future::as<T>() with a T other than the task's value type");
        }
        return future<T>(static_cast<detail::task_promise<T>*>(m_p));
    }
    /// Waits until the task ends, without raising its outcome (as future::wait()).
    /// **Cancellation:** see the class comment.
    /// **Throws:** cancelled_error; usage_error as `co_await future` does.
    [[nodiscard]] auto wait() const -> future<void>::wait_awaiter {
        return future<void>::wait_awaiter(&get());
    }
    friend auto operator==(const any_future& a, const any_future& b) noexcept -> bool {
        return a.m_p == b.m_p;
    }

    /// The task (for coven's own facades).
    [[nodiscard]] auto get() const -> detail::promise_base& {
        if (!m_p) {
            detail::throw_usage("use of an empty any_future");
        }
        return *m_p;
    }

private:
    friend struct detail::task_group_kernel;
    friend class task_group;
    friend auto detail::make_any_future(detail::promise_base* p) noexcept -> any_future;
    explicit any_future(detail::promise_base* p) noexcept : m_p(p) {
        if (m_p) {
            ++m_p->m_refs;
        }
    }
    detail::promise_base* m_p = nullptr;
};

inline auto detail::make_any_future(promise_base* p) noexcept -> any_future {
    return any_future(p);
}

} // namespace coven
