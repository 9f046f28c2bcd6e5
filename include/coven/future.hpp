#pragma once
// coven::future<T>: a handle to a task spawned with event_loop::create_task (S5, S8).

#include <coven/detail/accounting.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/detail/root_wait.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

namespace coven {

class event_loop;

/// Installs a process-wide handler for exceptions of tasks that ended with an exception nobody
/// retrieved (through co_await, result() or exception()) before the last handle went away.
/// Any callable (a function, a capturing lambda); an empty one (or nullptr) restores the
/// default, which prints one line to stderr. The handler runs on the thread that lets go of the
/// last handle (a loop's thread, or the last holder of a thread_safe_future), possibly on
/// several threads at once; what it throws is printed to stderr and dropped.
/// **Thread safety:** any thread; a report running meanwhile finishes with the old handler.
/// **Throws:** std::bad_alloc (the handler is then not changed).
using unobserved_exception_handler = std::function<void(std::exception_ptr, const std::string&)>;
void set_unobserved_exception_handler(unobserved_exception_handler handler);

namespace detail {
/// Arms, or moves, a root task's apply_timeout() deadline to now + d
/// (src/cancel/cancel_scope.cpp).
void apply_root_timeout(promise_base* task, std::chrono::nanoseconds d);
[[noreturn]] void throw_root_timeout(const promise_base* task);

/// How `co_await future` waits (detail/root_wait.hpp): a cancel of the waiting task cancels
/// the awaited one too.
struct future_wait_policy {
    static constexpr bool cascade = true;
    static constexpr const char* what = "co_await future";
    static constexpr const char* self_wait = "a task awaited its own future; it would wait forever";
};
using future_wait = root_wait<future_wait_policy>;

} // namespace detail

/// A handle to a root task: running, or ended with a value, an exception or cancellation. Copies
/// share the task; the task keeps running when every handle is gone (as in asyncio).
///
/// **Cancellation:** `co_await f` parks the awaiting task until `f`'s task ends. Cancelling the
/// awaiting task cancels `f`'s task too (asyncio semantics) and the awaiter throws
/// cancelled_error once that task has ended; the ended task's result stays in `f`. If that task
/// finishes anyway (it caught the cancellation and returned, or failed), the awaiter receives
/// that outcome instead, and its own cancellation stays pending for its next await. An
/// exception thrown into the awaiting task (task_throw(), task_interrupt()) ends the wait at once
/// and leaves `f`'s task running. An await with a cancellation already pending raises at once,
/// without cancelling `f`'s task, unless that task has ended already (then it does not suspend
/// and returns the outcome).
/// **Throws:** `co_await f` and `result()` rethrow the task's exception, or cancelled_error if it
/// was cancelled (timeout_error if its apply_timeout() deadline cancelled it). Using an empty
/// future (default-constructed or moved from) for anything but valid(), copies and moves is a
/// usage_error; a `co_await f` that has to wait throws usage_error outside a coven task, from a
/// task of another loop, or from the task itself.
/// **Thread safety:** loop thread only: a future is used by the tasks and callbacks of the loop
/// that runs its task. Other threads reach a loop through event_loop::run() and
/// event_loop::call_soon_threadsafe(). A future may outlive its loop: a destroyed loop has ended
/// all its tasks, and on an ended task done(), cancelled(), result(), exception(), cancel() and
/// abort() (false) and `co_await` (its outcome, at once) answer without touching the loop.
template <class T = void>
class future {
public:
    using value_type = T;

    future() noexcept = default;
    explicit future(detail::task_promise<T>* p) noexcept : m_p(p) {
        if (m_p) {
            ++m_p->m_refs;
        }
    }
    future(const future& o) noexcept : future(o.m_p) {}
    future(future&& o) noexcept : m_p(std::exchange(o.m_p, nullptr)) {}
    auto operator=(future o) noexcept -> future& {
        std::swap(m_p, o.m_p);
        return *this;
    }
    ~future() {
        if (m_p) {
            detail::release_root(m_p);
        }
    }

    [[nodiscard]] auto valid() const noexcept -> bool { return m_p != nullptr; }
    /// True once the task has ended, whatever the outcome.
    [[nodiscard]] auto done() const -> bool { return promise().has(detail::promise_base::f_done); }
    /// True if the task ended by cancellation.
    [[nodiscard]] auto cancelled() const -> bool {
        return promise().has(detail::promise_base::f_cancelled);
    }
    /// Cancels the task if it has not ended `d` from now (S12); its awaiters then get
    /// timeout_error instead of cancelled_error. A result that arrived first is never lost: a
    /// task that finishes (or catches the cancellation and returns) before the deadline hands
    /// over its value. Calling it again moves the deadline; no effect on a task that has ended.
    /// Durations follow coven/duration.hpp (past the clock's range: no deadline).
    /// **Throws:** usage_error off the task's loop thread, or for a NaN duration; std::bad_alloc
    /// (the first call on a task allocates its deadline).
    /// **Example:** `auto f = loop.create_task(fetch()); f.apply_timeout(1.0); co_await f;`
    template <class Rep, class Period>
    auto apply_timeout(std::chrono::duration<Rep, Period> d) -> future& {
        detail::apply_root_timeout(&promise(),
                                   detail::to_loop_duration(d, "future::apply_timeout()"));
        return *this;
    }
    /// apply_timeout() in seconds, as scarletio spells it: `task.apply_timeout(1.0);`
    auto apply_timeout(double seconds) -> future& {
        return apply_timeout(std::chrono::duration<double>(seconds));
    }
    /// True if the task ended because its apply_timeout() deadline passed.
    [[nodiscard]] auto timed_out() const -> bool {
        const auto& p = promise();
        return p.has(detail::promise_base::f_cancelled) && p.has(detail::promise_base::f_timed_out);
    }

    /// Requests cancellation: cancelled_error is raised in the task at its current or next
    /// suspension point. Returns false if the task had already ended; calling it twice is
    /// harmless. A task not started yet ends cancelled without running its body; one that
    /// returns before it sees the cancel ends cancelled too (docs/cancellation.md).
    /// **Throws:** usage_error from a thread that does not drive the task's loop, unless the
    /// task has ended (false, from any thread).
    auto cancel() -> bool {
        auto& p = promise();
        if (p.has(detail::promise_base::f_done)) {
            return false; // an ended task needs no loop (which may be gone)
        }
        detail::require_loop_thread(&p, "future::cancel()");
        return detail::cancel_root(&p);
    }

    /// Ends the task without resuming it where it can, as Tokio's `JoinHandle::abort()` and
    /// `coroutine_handle::destroy()` do: a task waiting in sleep(), or for an event, a lock, a
    /// semaphore or a queue, in its own body (not in a task it awaits), is dropped at its next
    /// turn. Its frame is destroyed where it waits: the destructors of its locals run, in
    /// reverse order and in the task's context, but no catch block and no code after the await
    /// does. It ends cancelled, like a cancelled task, and costs no exception. Any other task
    /// (running, queued, waiting elsewhere, or inside a shield) is cancelled as by cancel().
    /// Write cleanup that must run on abort as destructors. Returns false if the task had ended.
    /// **Throws:** usage_error from a thread that does not drive the task's loop.
    auto abort() -> bool {
        auto& p = promise();
        if (p.has(detail::promise_base::f_done)) {
            return false; // an ended task needs no loop (which may be gone)
        }
        detail::require_loop_thread(&p, "future::abort()");
        return detail::abort_root(&p);
    }

    /// The task's value; rethrows its exception; cancelled_error if it was cancelled,
    /// timeout_error if its apply_timeout() deadline cancelled it.
    /// **Throws:** usage_error if the task has not ended yet (co_await the future instead).
    auto result() const -> std::add_lvalue_reference_t<T> {
        auto& p = ended("future::result()");
        rethrow_if_failed(p);
        if constexpr (!std::is_void_v<T>) {
            return p.value();
        }
    }

    /// The exception the task ended with (null if it returned a value).
    /// **Throws:** usage_error if the task has not ended; cancelled_error if it was cancelled
    /// (timeout_error if its apply_timeout() deadline cancelled it).
    [[nodiscard]] auto exception() const -> std::exception_ptr {
        auto& p = ended("future::exception()");
        if (p.has(detail::promise_base::f_cancelled)) {
            throw_cancelled_outcome(p);
        }
        p.set(detail::promise_base::f_observed);
        return p.m_exception;
    }

    /// Calls `fn(future)` on the loop thread when the task ends (at once, inside this call, if it
    /// has ended). What `fn` throws goes to the exception handler of the loop the calling thread
    /// drives (event_loop::set_exception_handler()), or to stderr where there is none; never to
    /// the caller. The task's outcome counts as handled: its error no longer bubbles to a scope
    /// or group.
    /// **Thread safety:** the loop's thread (not checked).
    /// **Throws:** std::bad_alloc (nothing is registered then).
    void add_done_callback(std::function<void(future&)> fn) {
        auto& p = promise();
        p.set(detail::promise_base::f_joined);
        struct node : detail::completion_node {
            std::function<void(future&)> fn;
            future self;
        };
        if (p.has(detail::promise_base::f_done)) {
            future self(*this);
            try {
                fn(self);
            } catch (...) {
                // As for a later call: the caller is not the callback's audience.
                detail::report_callback_error(std::current_exception());
            }
            return;
        }
        auto* n = new node{};
        n->fn = std::move(fn);
        n->self = *this;
        n->m_fire = [](detail::completion_node* c, detail::promise_base*) noexcept {
            auto* me = static_cast<node*>(c);
            try {
                me->fn(me->self);
            } catch (...) {
                // A callback has no caller to report to: the loop's exception handler gets it.
                detail::report_callback_error(std::current_exception());
            }
            delete me;
        };
        detail::add_completion(&p, n);
    }

    /// The task's name: the one given to create_task(), or "task@<address>".
    /// **Throws:** std::bad_alloc.
    [[nodiscard]] auto name() const -> std::string { return detail::root_name(&promise()); }
    /// Renames the task. **Throws:** std::bad_alloc.
    void set_name(std::string name) { detail::set_root_name(&promise(), std::move(name)); }

    /// Waits for the task to end; returns its value or rethrows its outcome.
    struct awaiter : detail::future_wait {
        bool m_move = false;
        awaiter(detail::task_promise<T>* t, bool move) noexcept
            : detail::future_wait(t), m_move(move) {}
        auto await_resume() -> T {
            resume_or_throw_own_cancel();
            auto& target = *static_cast<detail::task_promise<T>*>(m_target);
            rethrow_if_failed(target);
            if constexpr (std::is_void_v<T>) {
                return;
            } else if constexpr (std::is_reference_v<T>) {
                return target.value();
            } else if constexpr (std::is_copy_constructible_v<T>) {
                if (m_move && target.m_refs == 1) {
                    return std::move(target.value());
                }
                return target.value();
            } else {
                return std::move(target.value());
            }
        }
    };

    /// Awaiter of wait(): resumes when the task ends, whatever the outcome, without throwing it.
    struct wait_awaiter : detail::future_wait {
        using detail::future_wait::future_wait;
        void await_resume() { resume_or_throw_own_cancel(); }
    };

    /// Waits until the task ends without retrieving its outcome (asyncio.wait()): no exception
    /// of the task is thrown; check done(), cancelled(), result() afterwards.
    /// **Cancellation:** as `co_await f`: cancelling the waiter cancels the task too.
    [[nodiscard]] auto wait() const -> wait_awaiter { return wait_awaiter(&promise()); }

    /// Waits for the task to end; returns its value (a copy; moved out when this is the last
    /// handle or T cannot be copied).
    /// **Cancellation:** see the class comment: the awaited task is cancelled too.
    auto operator co_await() const& -> awaiter { return awaiter(&promise(), false); }
    auto operator co_await() && -> awaiter { return awaiter(&promise(), true); }

    /// The underlying promise (for coven's own facades).
    [[nodiscard]] auto promise() const -> detail::task_promise<T>& {
        if (!m_p) {
            detail::throw_usage("use of an empty future (default-constructed or moved from)");
        }
        return *m_p;
    }

private:
    auto ended(const char* what) const -> detail::task_promise<T>& {
        auto& p = promise();
        if (!p.has(detail::promise_base::f_done)) {
            throw usage_error(std::string("coven: ") + what +
                              " called before the task ended; co_await the future, or check "
                              "done() first");
        }
        return p;
    }
    [[noreturn]] static void throw_cancelled_outcome(const detail::task_promise<T>& p) {
        if (p.has(detail::promise_base::f_timed_out)) {
            detail::throw_root_timeout(&p);
        }
        throw cancelled_error();
    }
    static void rethrow_if_failed(detail::task_promise<T>& p) {
        if (p.has(detail::promise_base::f_cancelled)) {
            p.set(detail::promise_base::f_observed);
            throw_cancelled_outcome(p);
        }
        if (p.m_exception) {
            p.set(detail::promise_base::f_observed);
            std::rethrow_exception(p.m_exception);
        }
    }

    detail::task_promise<T>* m_p = nullptr;
};

namespace detail {
/// The ended task's value, moved out (a reference for T&), or its exception rethrown: what a
/// caller that owns the task's only handle returns.
template <class T>
auto take_outcome(future<T>& f) -> T {
    if constexpr (std::is_void_v<T>) {
        f.result();
    } else if constexpr (std::is_reference_v<T>) {
        return f.result();
    } else {
        return std::move(f.result());
    }
}
} // namespace detail

} // namespace coven
