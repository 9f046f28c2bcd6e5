#pragma once
// coven::async_scope: async-tamer's AsyncScope (T5-T10) on the task_scope core. Functions
// scheduled into it run concurrently; the scope's end waits for all of them and raises every
// failure nobody handled.

#include <coven/delayed_result.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/task.hpp>
#include <coven/task_scope.hpp>

#include <exception>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace coven {

/// Options of an async_scope; use designated initializers:
/// `coven::async_scope scope({.on_exit = coven::exit_mode::cancel});`
struct async_scope_options {
    /// At the scope's end: wait for unfinished functions (default), or cancel them.
    exit_mode on_exit = exit_mode::wait;
    /// When a function fails: cancel the others (default), or let them run on. Either way the
    /// failure is raised at the scope's end unless someone handled it first.
    error_mode on_error = error_mode::cancel;
    std::string_view name{}; // copied
};
static_assert(std::is_trivially_copyable_v<async_scope_options>, "see scope_options");

/// A set of concurrently running functions with a common end (T5-T10). Two forms:
///  - **blocking** (`with AsyncScope()`, T5): made in synchronous code, on the calling thread's
///    this_thread_loop(). Scheduled functions start when the thread blocks: at the scope's end,
///    or in delayed_result::block(). The destructor is the scope's end: it drives the loop until
///    every function has ended, then raises what nobody handled. Scopes nest (T7): while an inner
///    scope's end blocks, the outer scope's functions run too, and code after the inner scope runs
///    after all of its functions.
///  - **async** (`async with AsyncScope()`, T6): `co_await with_async_scope(options, body)` in a
///    task, since a destructor cannot await.
///
/// At the end, exit_mode::wait waits for unfinished functions and exit_mode::cancel cancels them
/// (T8). error_mode::cancel cancels the other functions at the first failure; keep_going lets
/// them run (T9). Neither interrupts the async form's body. A failure that no block(), co_await or
/// value() reached is raised at the end (T10): one as itself, several as aggregate_error.
///
/// **Cancellation:** cancel() cancels every function. The async form's awaiting task being
/// cancelled cancels them too, and raises cancelled_error once they have unwound.
/// **Throws:** usage_error when the blocking form is made or ended inside a task, or on any
/// thread that drives a loop (use with_async_scope()), or when scheduling into a scope that has
/// ended; at the end, the unhandled failures (one as itself, several as aggregate_error);
/// std::bad_alloc.
/// **Thread safety:** the thread that made it. The blocking form belongs to a thread that drives
/// no loop; the async form to the loop's thread of the task that awaits with_async_scope().
/// **Example:**
/// ```
/// {
///     coven::async_scope scope;
///     auto a = scope.spawn(fetch(1));
///     auto b = scope.spawn(fetch(2));
/// } // both have ended here; a.value() and b.value() hold their results
/// ```
class async_scope {
public:
    /// The blocking form, on this_thread_loop().
    /// **Throws:** usage_error inside a task.
    explicit async_scope(async_scope_options options = {});
    /// The scope's end in the blocking form (see close()). While an exception unwinds through
    /// it, the functions are cancelled instead, and their unhandled failures go to the
    /// unobserved-exception handler: a destructor cannot raise then. It raises otherwise, so
    /// keep the scope a plain local: a holder with a noexcept destructor (unique_ptr, optional)
    /// would turn a raised failure into std::terminate.
    ~async_scope() noexcept(false);
    async_scope(const async_scope&) = delete;
    auto operator=(const async_scope&) -> async_scope& = delete;

    /// Schedules `t` as a function of the scope (async-tamer's `_async_scope=scope`, T3) and
    /// returns its result-to-be at once. A function may schedule more into its own scope while
    /// the scope's end waits.
    /// **Throws:** usage_error once the scope has ended (every function done), or once it was
    /// cancelled and everything in it has unwound; what task_scope::spawn() throws (usage_error
    /// from another thread); std::bad_alloc.
    template <class T>
    auto spawn(task<T> t, std::string_view name = {}) -> delayed_result<T> {
        if (m_scope.done()) {
            detail::throw_usage("spawn into an async_scope that has ended (or was cancelled and "
                                "has unwound); make a new scope");
        }
        m_state->failures.reserve(m_state->failures.size() + 1); // child_ended cannot fail
        // The scope keeps the outcome (bubble off): the failure is raised at the end, by us.
        future<T> f = m_scope.spawn(std::move(t), {.name = name, .bubble = false});
        const std::uint64_t child = m_state->next_child++;
        f.add_done_callback([state = m_state, child](future<T>& done) noexcept {
            state->child_ended(child, done.promise());
        });
        return delayed_result<T>(std::move(f), m_state, child);
    }

    /// Ends the blocking form now: finalizes the scope, drives the loop until every function has
    /// ended (cancelling them under exit_mode::cancel), then raises the unhandled failures.
    /// Once is enough; the destructor then has nothing left to do.
    /// **Cancellation:** not an awaitable: nothing can cancel the blocked thread's wait; cancel()
    /// from a function of the scope cancels the others and the end comes once they unwound.
    /// **Throws:** the failures; usage_error inside a task, on a thread that drives a loop, or on
    /// the async form.
    void close();
    /// Cancels every function; the scope ends once they have unwound. The async form's body is
    /// not interrupted: it runs on to its end, and spawning into the scope after it has unwound
    /// is a usage_error. It does not wait.
    /// **Throws:** usage_error from a thread other than the scope's loop's while another thread
    /// drives it (task_scope::cancel()).
    void cancel() { m_scope.cancel(); }

    [[nodiscard]] auto name() const -> const std::string& { return m_scope.name(); }
    /// Functions not ended yet.
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_scope.size(); }
    /// True once the scope's end has begun (close(), the destructor, or the async body's end).
    [[nodiscard]] auto ended() const noexcept -> bool { return m_ended; }
    /// The underlying core scope (for fork() and the other task_scope operations). Failures of
    /// tasks spawned on it directly (bubbling, as task_scope spawns by default) are raised at the
    /// end with the others.
    [[nodiscard]] auto core() noexcept -> task_scope& { return m_scope; }

private:
    struct async_form {};
    template <class Body>
    friend auto with_async_scope(async_scope_options options, Body body) -> task<void>;

    async_scope(async_form, async_scope_options options);
    async_scope(event_loop& loop, async_scope_options options, bool blocking);
    /// The unhandled failures, taken out of the state.
    auto take_failures() -> std::vector<std::exception_ptr>;
    /// Hands failures still held to the unobserved-exception handler.
    void report_left_over() noexcept;
    /// Raises `errors`: one as itself, several as aggregate_error; nothing if empty.
    static void raise(std::vector<std::exception_ptr> errors);
    /// Ends the async form: `body_error` from the body, `wait_error` from waiting for the end.
    void finish_async(std::exception_ptr body_error, std::exception_ptr wait_error);

    std::shared_ptr<detail::async_scope_state> m_state;
    task_scope m_scope;
    int m_uncaught = 0; // std::uncaught_exceptions() when made: is the destructor unwinding?
    bool m_blocking;
    bool m_ended = false;
};

/// The async form of async_scope (`async with AsyncScope() as scope:`, T6): runs `body(scope)`,
/// then waits for every function scheduled into the scope, and raises the unhandled failures
/// (with the body's own error, if it threw: then the functions are cancelled first).
/// **Cancellation:** cancelling the awaiting task cancels the body (its awaits raise) and the
/// scope's functions; the await raises cancelled_error once they have unwound. If functions
/// failed too, their failures are raised instead and the cancellation stays pending for the
/// task's next await.
/// **Thread safety:** awaited from a coven task, on its loop's thread; the functions run on that
/// loop.
/// **Throws:** the body's error and the unhandled failures (one as itself, several as
/// aggregate_error); cancelled_error; usage_error outside a task; std::bad_alloc.
/// **g++ 12:** a body written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a body first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::with_async_scope({}, [&](coven::async_scope& scope) -> coven::task<> {
///     scope.spawn(slow_echo("hello", 1s));
///     co_return;
/// });
/// ```
template <class Body>
auto with_async_scope(async_scope_options options, Body body) -> task<void> {
    static_assert(detail::returns_task<Body, async_scope&>(),
                  "with_async_scope()'s block must be callable with a coven::async_scope& and "
                  "return a coven::task: write [&](coven::async_scope& scope) -> coven::task<> "
                  "{ ... }");
    async_scope scope(async_scope::async_form{}, options);
    std::exception_ptr body_error;
    try {
        co_await body(scope); // `body` lives in this frame: a capturing lambda is fine
    } catch (...) {
        body_error = std::current_exception();
    }
    if (body_error) {
        scope.m_scope.cancel();
    }
    scope.m_ended = true;
    scope.m_scope.finalize();
    std::exception_ptr wait_error;
    try {
        co_await scope.m_scope.wait(); // our own cancellation cancels the scope and raises here
    } catch (...) {
        wait_error = std::current_exception();
    }
    scope.finish_async(body_error, wait_error);
}

} // namespace coven
