#pragma once
// coven::task_scope: the structured-concurrency core (ARCHITECTURE §4) and traio's Scope on it
// (R1-R9, R11, R4). A scope owns the tasks spawned into it and ends only when every one of them
// has ended; an error policy, an exit policy, an optional deadline and per-child flags decide how.

#include <coven/cancel_scope.hpp>
#include <coven/detail/intrusive_list.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/detail/timer_node.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace coven {

/// What a scope does with children still running when it is finalized (async-tamer's exit_mode).
enum class exit_mode {
    wait,   ///< wait for them (default)
    cancel, ///< cancel them
};

/// What a child's error does to its scope (async-tamer's error_mode).
enum class error_mode {
    cancel,     ///< cancel the other children; the error is raised from the scope (default)
    keep_going, ///< let the others run; every error is raised from the scope at its end
};

/// A reference to a callable `void(std::string_view)` that outlives the scope: a scope's logger.
/// Made from an lvalue (`auto log = [](std::string_view line) {...}; ... .logger = log`).
class scope_logger {
public:
    scope_logger() noexcept = default;
    template <class F>
    requires(std::invocable<F&, std::string_view> &&
             !std::is_same_v<std::remove_cvref_t<F>, scope_logger>)
        // NOLINTNEXTLINE(google-explicit-constructor): `.logger = my_log` reads best
        scope_logger(F& f)
    noexcept
        : m_target(&f),
          m_call([](void* target, std::string_view line) { (*static_cast<F*>(target))(line); }) {}
    explicit operator bool() const noexcept { return m_call != nullptr; }
    void operator()(std::string_view line) const { m_call(m_target, line); }

private:
    void* m_target = nullptr;
    void (*m_call)(void*, std::string_view) = nullptr;
};

/// Options of a task_scope; use designated initializers:
/// `coven::task_scope scope({.name = "fetch", .timeout = 10s});`
///
/// The options hold no owning members (a name is a view, copied by the scope; the logger is a
/// reference): WORKAROUND(gcc-12): an aggregate temporary with a non-trivial member in the
/// operand of co_await is copied bitwise into the coroutine frame and destroyed twice, so
/// `co_await with_scope({.name = std::string(...)}, ...)` would free a buffer twice
/// (docs/compilers.md).
struct scope_options {
    std::string_view name{};
    /// The scope is cancelled this long after it is made, and then raises timeout_error. Any
    /// std::chrono duration, or seconds as a double; the default, and anything past the loop
    /// clock's range, means no timeout (coven/duration.hpp).
    saturating_duration timeout{};
    exit_mode on_exit = exit_mode::wait;
    error_mode on_error = error_mode::cancel;
    /// Receives one line per life-cycle event of the scope and its tasks (traio's logger, R4):
    /// spawned, finished, failed, cancelled, scope cancelled (and why), finalized, done.
    scope_logger logger{};
};
static_assert(std::is_trivially_copyable_v<scope_options>, "see the WORKAROUND above");

/// Per-child flags of task_scope::spawn() (traio's spawn keywords, R5-R8).
struct spawn_options {
    std::string_view name{}; // copied into the task's name
    /// The child's error cancels the scope and is raised from it. Awaiting the child's future
    /// yourself (or wait(), or a done-callback) turns this off: you handle its outcome.
    bool bubble = true;
    /// The scope ends when this child ends (the others are cancelled).
    bool master = false;
    /// The scope waits for this child at its end; a background child (false) is cancelled when
    /// the awaited ones are done.
    bool awaited = true;
    /// The child runs at once, inside spawn(), up to its first suspension (asynkit's eager
    /// start, K25); spawn() returns after that. Off the loop's thread its turn is queued.
    bool eager = false;
};
static_assert(std::is_trivially_copyable_v<spawn_options>, "see scope_options");

class task_scope;

namespace detail {
struct task_scope_kernel;
void scope_child_dropped(completion_node* c, promise_base* t) noexcept;

/// A scope's record of a child task: a completion node on the child (its end tells the scope),
/// linked in the scope's list of live children. Loop stop unlinks it from a stuck child,
/// dropping the scope's reference.
struct scope_child : bookkeeping_node {
    scope_child() noexcept : bookkeeping_node(&scope_child_dropped) {}
    task_scope* m_scope = nullptr;
    promise_base* m_task = nullptr;
    scope_child* m_prev_child = nullptr;
    scope_child* m_next_child = nullptr;
    bool m_bubble = true;
    bool m_master = false;
    bool m_awaited = true;
};

/// Ends with_scope(): raises the failures of the block and of the children (one as itself,
/// several as aggregate_error) if there are any, keeping a cancellation pending for the next
/// await; else the cancellation; else the scope's own outcome (timeout).
void finish_with_scope(const task_scope& scope, const std::exception_ptr& block_error,
                       const std::exception_ptr& wait_error);
/// Requests cancellation of `task` again if no cancelled scope is about to raise it anyway.
void keep_cancellation_pending(promise_base* task) noexcept;
} // namespace detail

/// A nursery: tasks spawned into it run concurrently, and the scope ends only when all of them
/// have ended. How it ends:
///  - **finalized** (finalize(), or the end of a with_scope() block) and every awaited child
///    done: background children are cancelled, and once they have unwound the scope ends;
///  - **cancelled** by cancel(), its timeout, a bubbling child's error (error_mode::cancel), a
///    master child ending, or its parent scope: every child is cancelled, and the scope ends once
///    they have unwound.
/// `co_await scope` waits for the end and then raises what the scope ended with: the errors of
/// bubbling children (one as itself, several as aggregate_error), else timeout_error if the
/// timeout cancelled it; an ending by cancel() or a master child is quiet.
///
/// **Cancellation:** cancelling the task that awaits the scope cancels the scope (and so its
/// children); the awaiter raises cancelled_error once they have all unwound. A cancellation
/// already pending when the await starts does the same. If children failed, `co_await scope`
/// raises their failures instead, and the cancellation stays pending for the next await; it is
/// never reported as the scope's timeout.
/// **Throws:** usage_error when spawning into a scope that has ended, or from a thread that does
/// not drive the scope's loop while another thread does; `co_await` throws usage_error outside
/// a coven task, from a task of another loop, or when the scope is destroyed while a task waits
/// for it; std::bad_alloc.
/// **Thread safety:** the thread of the loop it was made on; only tasks of that loop may await
/// it.
/// **Example:**
/// ```
/// coven::task_scope scope({.timeout = 10s});
/// for (int i = 0; i < 10; ++i) scope << fetch_url(i);
/// scope.finalize();
/// co_await scope;
/// ```
class task_scope {
public:
    /// A scope on the calling thread's loop. **Throws:** usage_error off a loop thread.
    explicit task_scope(scope_options options = {});
    /// A scope on `loop`, made by the thread that drives it, or by any thread while no thread
    /// drives it (a synchronous caller preparing work it will then drive, as async_scope does).
    /// **Throws:** usage_error if another thread drives `loop`.
    task_scope(event_loop& loop, scope_options options);
    /// A child scope of `parent` (see fork()).
    task_scope(task_scope& parent, scope_options options);
    /// A scope still running when destroyed cancels its children and forgets them (they unwind
    /// on their own); await it first. Tasks waiting for it wake with usage_error.
    ~task_scope();
    task_scope(const task_scope&) = delete;
    auto operator=(const task_scope&) -> task_scope& = delete;

    /// Spawns `t` as a task of this scope (R1, R5-R8). A scope that is being cancelled cancels
    /// the new task at once; its body never runs.
    /// **Throws:** usage_error if the scope has ended, from a thread that does not drive the
    /// scope's loop while another thread does, or for an empty or already awaited task;
    /// std::bad_alloc (nothing is spawned then).
    template <class T>
    auto spawn(task<T> t, spawn_options options = {}) -> future<T> {
        check_thread("task_scope::spawn()");
        if (m_done && !m_cancelling) {
            detail::throw_usage("spawn into a task_scope that has ended; make a new scope");
        }
        auto node = make_child_node(); // allocated first: nothing can fail after the spawn
        auto f = options.name.empty()
                     ? m_loop->create_task_unqueued(std::move(t))
                     : m_loop->create_task_unqueued(std::move(t), std::string(options.name));
        if (m_done) {
            // A scope that ended by cancellation: the task is cancelled before its first turn.
            detail::cancel_root(&f.promise());
        } else {
            adopt(&f.promise(), options, std::move(node));
        }
        if (options.eager) {
            detail::start_now(&f.promise()); // a cancelled one is queued to end there
        } else {
            detail::queue_root(&f.promise());
        }
        return f;
    }
    /// spawn() with a name and default options, spelled as create_task(t, "name") is.
    template <class T>
    auto spawn(task<T> t, std::string_view name) -> future<T> {
        spawn_options options;
        options.name = name;
        return spawn(std::move(t), options);
    }
    /// `scope << task`: spawn with the default flags (R2).
    template <class T>
    auto operator<<(task<T> t) -> task_scope& {
        (void)spawn(std::move(t));
        return *this;
    }

    /// No more children are expected: the scope ends when the awaited ones are done (R3).
    /// Without it, a scope ends only when it is cancelled.
    /// **Throws:** usage_error from a thread that does not drive the scope's loop while another
    /// thread does.
    void finalize();
    /// Cancels every child (and forked scope); the scope ends, quietly, once they have unwound.
    /// It does not wait. **Throws:** as finalize().
    void cancel();
    /// A child scope, cancelled with this one (R9): `task_scope inner = scope.fork({...});`.
    /// This scope does not end before it.
    /// **Throws:** usage_error if this scope has ended.
    [[nodiscard]] auto fork(scope_options options = {}) -> task_scope {
        return task_scope(*this, options);
    }

    /// The innermost scope of the running task (R11): the with_scope() block it runs in, else
    /// the scope it was spawned into; null if none. **Thread safety:** any thread (it reads the
    /// calling thread's running task).
    [[nodiscard]] static auto current() noexcept -> task_scope*;

    [[nodiscard]] auto name() const -> const std::string& { return m_name; }
    [[nodiscard]] auto finalized() const noexcept -> bool { return m_finalized; }
    [[nodiscard]] auto cancel_called() const noexcept -> bool { return m_cancelling; }
    [[nodiscard]] auto timed_out() const noexcept -> bool { return m_timed_out; }
    [[nodiscard]] auto done() const noexcept -> bool { return m_done; }
    /// Children (tasks and forked scopes) not yet ended.
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_live; }
    /// The errors of bubbling children so far.
    [[nodiscard]] auto errors() const -> const std::vector<std::exception_ptr>& { return m_errors; }

    /// Waits for the end; `raise` picks whether the outcome is thrown.
    class [[nodiscard, gnu::warn_unused]] join_awaiter : private detail::waiter {
    public:
        join_awaiter(task_scope & s, bool raise) noexcept : m_scope(&s), m_raise(raise) {}
        join_awaiter(const join_awaiter&) = delete;
        auto operator=(const join_awaiter&)->join_awaiter& = delete;
        ~join_awaiter();
        [[nodiscard]] auto await_ready() const noexcept->bool {
            return m_scope->m_done;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool;
        void await_resume();

    private:
        friend struct detail::task_scope_kernel;
        friend class task_scope;
        task_scope* m_scope; // null once woken: the scope may be gone by the time it resumes
        detail::promise_base* m_task = nullptr;
        join_awaiter* m_prev_joiner = nullptr;
        join_awaiter* m_next_joiner = nullptr;
        std::exception_ptr m_outcome; // what the scope ended with, copied when it woke us
        bool m_raise;
        bool m_cancel_seen = false;
        bool m_parked = false;
        bool m_scope_destroyed = false;
        bool m_outcome_is_failure = false;
    };
    /// Waits until the scope has ended and raises its outcome (see the class comment).
    auto operator co_await() -> join_awaiter { return join_awaiter(*this, true); }
    /// Waits until the scope has ended without raising its outcome.
    /// **Cancellation:** as `co_await scope`: the scope is cancelled, and the wait raises
    /// cancelled_error once it has ended.
    [[nodiscard]] auto wait() -> join_awaiter { return join_awaiter(*this, false); }
    /// Throws what the scope ended with (nothing if it ended quietly).
    /// **Throws:** usage_error before the end.
    void rethrow_outcome() const;

private:
    friend struct detail::task_scope_kernel;
    template <class Body>
    friend auto with_scope(scope_options options, Body body) -> task<void>;

    /// The cancel scope a with_scope() block runs in: cancelling the task_scope cancels it.
    struct body_scope : cancel_scope {
        task_scope* m_owner = nullptr;
    };

    struct node_deleter {
        void operator()(detail::scope_child* n) const noexcept;
    };
    using child_node = std::unique_ptr<detail::scope_child, node_deleter>;

    static auto current_loop_or_throw() -> event_loop&;
    static auto make_child_node() -> child_node;
    void check_thread(const char* what) const;
    void adopt(detail::promise_base* child, const spawn_options& options, child_node node) noexcept;
    void log(const std::string& line) const noexcept;
    /// The outcome as an exception (null for a quiet end): one error, aggregate_error, or
    /// timeout_error.
    [[nodiscard]] auto outcome() const -> std::exception_ptr;

    struct deadline_timer : detail::timer_node {
        task_scope* m_owner = nullptr;
    };

    std::string m_name;
    exit_mode m_on_exit;
    error_mode m_on_error;
    scope_logger m_logger;
    event_loop* m_loop = nullptr;
    task_scope* m_parent = nullptr;
    std::vector<task_scope*> m_forks;
    detail::intrusive_list<detail::scope_child, &detail::scope_child::m_prev_child,
                           &detail::scope_child::m_next_child>
        m_children; // the live child tasks
    detail::intrusive_list<join_awaiter, &join_awaiter::m_prev_joiner, &join_awaiter::m_next_joiner>
        m_joiners; // the tasks waiting for the end
    std::vector<std::exception_ptr> m_errors;
    deadline_timer m_deadline;
    body_scope m_body;
    std::size_t m_live = 0;         // child tasks and forked scopes not ended
    std::size_t m_awaited_live = 0; // those of them the scope waits for
    bool m_finalized = false;
    bool m_closing = false; // awaited children done: the background ones are being cancelled
    bool m_cancelling = false;
    bool m_timed_out = false;
    bool m_done = false;
};

/// Runs `body(scope)` inside a new scope and returns when the body and every task it spawned
/// have ended: traio's `async with Scope(...) as scope:` (and Trio's nursery). If the body
/// throws, the scope is cancelled and the error is raised once the children have unwound,
/// together with theirs (aggregate_error). The body is cancelled with the scope: its awaits raise
/// cancelled_error until it ends.
/// **Cancellation:** cancelling the awaiting task cancels the body and the children; the await
/// raises cancelled_error once all have unwound, or their failures if any (the cancellation then
/// stays pending for the next await).
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** the body's and the children's failures (one as itself, several as
/// aggregate_error); timeout_error if `options.timeout` passed; cancelled_error; usage_error off
/// a loop thread; std::bad_alloc.
/// **g++ 12:** a body written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a body first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::with_scope({.timeout = 10s}, [&](coven::task_scope& scope) -> coven::task<> {
///     for (int i = 0; i < 10; ++i) scope << fetch_url(i);
///     co_return;
/// });
/// ```
template <class Body>
auto with_scope(scope_options options, Body body) -> task<void> {
    static_assert(detail::returns_task<Body, task_scope&>(),
                  "with_scope()'s block must be callable with a coven::task_scope& and return a "
                  "coven::task: write [&](coven::task_scope& scope) -> coven::task<> { ... }");
    task_scope scope(options);
    std::exception_ptr body_error;
    try {
        co_await scope.m_body.run([&]() -> task<void> { co_await body(scope); });
    } catch (...) {
        body_error = std::current_exception();
    }
    if (body_error) {
        scope.cancel();
    }
    scope.finalize();
    std::exception_ptr wait_error;
    try {
        co_await scope.wait(); // an outer cancellation cancels the scope and raises here
    } catch (...) {
        wait_error = std::current_exception();
    }
    detail::finish_with_scope(scope, body_error, wait_error);
}

} // namespace coven
