#pragma once
// coven::cancel_scope: a block of a task that can be cancelled as a unit, with a deadline that
// can move and a shield (B1). Every timeout coven offers is one (coven/timeout.hpp).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/timer_node.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/task.hpp>

#include <concepts>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace coven {

class fail_scope;

namespace detail {
struct scope_kernel;
template <class Stored, bool Fail>
class scope_awaiter;
struct fail_mode_t {
    explicit fail_mode_t() = default;
};
template <class Work>
using stored_work_t =
    std::conditional_t<std::is_lvalue_reference_v<Work>, Work, std::remove_cvref_t<Work>>;
} // namespace detail

/// What `co_await scope.run(work)` and `co_await move_on_after(d, work)` return: whether the work
/// finished, and its value if it has one. `bool` for void work, `std::optional<T>` otherwise
/// (`std::optional<std::reference_wrapper<U>>` for a `U&` result).
template <class T>
using scope_result_t = std::conditional_t<
    std::is_void_v<T>, bool,
    std::conditional_t<std::is_reference_v<T>,
                       std::optional<std::reference_wrapper<std::remove_reference_t<T>>>,
                       std::optional<T>>>;

/// A region of a task that can be cancelled as a unit (Trio's CancelScope).
///
/// The block is the work given to run(): a `task<T>`, a callable returning one (a lambda is the
/// C++ spelling of a `with` block), or any awaitable. While it runs, the scope can be cancelled
/// by cancel(), by its deadline passing, or by moving the deadline into the past. Cancellation
/// then raises `cancelled_error` at the block's suspension points, **level-triggered**: every
/// later await inside the scope raises again until the block has unwound, so a cleanup can't hang
/// silently. The scope absorbs its own cancellation where the block ends: run() returns an empty
/// result and cancelled_caught() is true (a coven::fail_scope, from fail_after(), throws
/// timeout_error instead).
///
/// Scopes nest to any depth. A shielded scope keeps every cancellation from outside (outer
/// scopes, future::cancel() of the task, loop stop) away from its block until the block ends;
/// its own deadline and cancel() still apply.
///
/// **Cancellation:** an outer cancellation is never absorbed or reported as this scope's: if one
/// is pending when the block ends, run() raises cancelled_error instead of returning.
/// **Throws:** usage_error when entered twice or used off its loop's thread; whatever the block
/// throws passes through unchanged.
/// **Thread safety:** the thread of the loop that runs the task; the object lives in the task.
/// **g++ 12:** a block written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a block first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// coven::cancel_scope scope = coven::move_on_after(2s);
/// co_await scope.run([&]() -> coven::task<> {
///     co_await step_one();
///     scope.set_deadline(scope.deadline() + 1s); // more time for the second step
///     co_await step_two();
/// });
/// if (scope.cancelled_caught()) { /* gave up */ }
/// ```
class cancel_scope : private detail::timer_node {
public:
    using duration = event_loop::duration;
    using time_point = event_loop::time_point;
    /// deadline() of a scope that has none.
    static constexpr time_point no_deadline = time_point::max();

    /// A scope without a deadline: cancelled only by cancel().
    cancel_scope() noexcept = default;
    /// A scope cancelled when the loop's clock reaches `deadline`.
    explicit cancel_scope(time_point deadline) noexcept : m_deadline(deadline) {}
    // The running task's scope chain points at it: it stays where it was made.
    cancel_scope(const cancel_scope&) = delete;
    /// `cancel_scope s = fail_after(d);` would slice the fail mode off (and cannot copy): refused
    /// with a message that names the type to write.
    template <class F>
    requires std::is_same_v<F, fail_scope>
    cancel_scope(F&& /*unused*/) { // NOLINT(google-explicit-constructor)
        static_assert(!std::is_same_v<F, fail_scope>,
                      "fail_after() and fail_at() return a coven::fail_scope, whose run() gives "
                      "the block's value or throws timeout_error: write `coven::fail_scope scope "
                      "= coven::fail_after(d);` (or `auto scope = ...`)");
    }
    auto operator=(const cancel_scope&) -> cancel_scope& = delete;
    ~cancel_scope();

    /// Runs `work` inside this scope and returns whether it finished (with its value).
    /// A scope runs one block, once. See scope_result_t.
    /// **Cancellation:** the block runs as part of the awaiting task: this scope's cancellation
    /// and the task's own both reach its awaits. This scope's is absorbed where the block ends
    /// (an empty result, or timeout_error in fail mode); an outer one is raised as
    /// cancelled_error. A block that finishes despite the cancel returns its value.
    /// **Throws:** usage_error when the scope is entered a second time, outside a coven task, or
    /// for an empty or already awaited task; timeout_error from a fail-mode scope; what the block
    /// throws; std::bad_alloc (work that is not a task is wrapped in one).
    template <class Work>
    [[nodiscard]] auto
    run(Work&& work) & -> detail::scope_awaiter<detail::stored_work_t<Work>, false>;

    /// The deadline, or no_deadline.
    [[nodiscard]] auto deadline() const noexcept -> time_point { return m_deadline; }
    /// Moves the deadline, earlier or later, also while the block runs; a deadline that has
    /// already passed cancels the scope at once. No effect once the scope is cancelled.
    /// **Throws:** usage_error while the block runs, from a thread that does not drive its loop.
    void set_deadline(time_point deadline);
    /// set_deadline(now + d), by the rules of coven/duration.hpp (past the clock's range: no
    /// deadline). **Throws:** usage_error for NaN, or off a loop thread.
    template <class Rep, class Period>
    void set_timeout(std::chrono::duration<Rep, Period> d);
    /// set_timeout() in seconds.
    void set_timeout(double seconds);
    /// Cancels the block (idempotent); before run(), the block starts cancelled. It does not
    /// wait: the block raises at its current or next await.
    /// **Throws:** usage_error while the block runs, from a thread that does not drive its loop.
    void cancel();
    /// True once cancel() was called or the deadline passed.
    [[nodiscard]] auto cancel_called() const noexcept -> bool { return has(s_cancel_called); }
    /// True if this scope's cancellation is what ended the block.
    [[nodiscard]] auto cancelled_caught() const noexcept -> bool { return has(s_caught); }
    [[nodiscard]] auto shield() const noexcept -> bool { return has(s_shield); }
    /// Shields the block from outer cancellation (also while it runs). Lowering the shield lets
    /// a pending outer cancellation in at once.
    /// **Throws:** usage_error while the block runs, from a thread that does not drive its loop.
    void set_shield(bool on);
    /// True while the block runs.
    [[nodiscard]] auto active() const noexcept -> bool { return m_task != nullptr; }

protected:
    /// A fail-mode scope (coven::fail_scope): where it absorbs its own cancellation, the block's
    /// await throws timeout_error instead of returning an empty result.
    cancel_scope(time_point deadline, detail::fail_mode_t /*tag*/) noexcept : m_deadline(deadline) {
        m_owner_bits = s_fail;
    }

private:
    friend struct detail::scope_kernel;
    template <class Stored, bool Fail>
    friend class detail::scope_awaiter;

    static constexpr std::uint8_t s_cancel_called = 1;
    static constexpr std::uint8_t s_caught = 2;
    static constexpr std::uint8_t s_shield = 4;
    static constexpr std::uint8_t s_entered = 8;
    static constexpr std::uint8_t s_fail = 16;            // fail_after(): timeout_error
    static constexpr std::uint8_t s_outer_delivered = 32; // see scope_kernel::leave
    static constexpr std::uint8_t s_task_scope_body = 64; // a task_scope's with_scope() block

    [[nodiscard]] auto has(std::uint8_t bit) const noexcept -> bool {
        return (m_owner_bits & bit) != 0;
    }

    // The state bits live in timer_node::m_owner_bits (free padding).
    cancel_scope* m_parent = nullptr;       // the next scope out, while active
    detail::promise_base* m_task = nullptr; // the root task the block runs in, while active
    time_point m_deadline = no_deadline;
};

/// A cancel scope in fail mode (Trio's `fail_after` scope; what fail_after(d) and fail_at(t)
/// return): where its own cancellation (the deadline, or cancel()) stops the block, run() throws
/// timeout_error once the block has unwound; otherwise run() returns the block's value itself,
/// not an optional. Everything else is cancel_scope's, and a fail_scope can be passed wherever a
/// `cancel_scope&` is taken (its run() then returns the optional, which is never empty).
/// **Throws:** as cancel_scope::run(), and timeout_error where the scope stopped the block.
/// **Example:**
/// ```
/// coven::fail_scope scope = coven::fail_after(2s);
/// int rows = co_await scope.run([&]() -> coven::task<int> { co_return co_await count_rows(); });
/// ```
class fail_scope : public cancel_scope {
public:
    /// A fail-mode scope without a deadline: only cancel() stops it.
    fail_scope() noexcept : cancel_scope(no_deadline, detail::fail_mode_t{}) {}
    /// A fail-mode scope cancelled when the loop's clock reaches `deadline`.
    explicit fail_scope(time_point deadline) noexcept
        : cancel_scope(deadline, detail::fail_mode_t{}) {}

    /// Runs `work` inside this scope and returns its value (nothing for void work).
    /// **Throws:** timeout_error where this scope stopped the block; otherwise as
    /// cancel_scope::run().
    template <class Work>
    [[nodiscard]] auto
    run(Work&& work) & -> detail::scope_awaiter<detail::stored_work_t<Work>, true>;
};

namespace detail {

/// The cancel-scope part of the kernel (src/cancel_scope.cpp).
struct scope_kernel {
    /// Pushes `s` onto the task's chain and arms its deadline.
    static void enter(cancel_scope& s, promise_base* task);
    /// Pops `s` when its block ended with `error` (null if it returned). True if the error is the
    /// scope's own cancellation, now absorbed; throws cancelled_error instead if an outer
    /// cancellation is pending.
    static auto leave(cancel_scope& s, const std::exception_ptr& error) -> bool;
    /// Pops `s` from a frame destroyed while suspended (loop teardown).
    static void abandon(cancel_scope& s) noexcept;
    /// Marks `s` cancelled and wakes the task if it is parked where the cancellation reaches.
    static void cancel(cancel_scope& s) noexcept;
    static void set_deadline(cancel_scope& s, event_loop::time_point deadline);
    static void set_shield(cancel_scope& s, bool on);
    [[noreturn]] static void throw_timeout();
    static void note_outer_delivered(cancel_scope& s) noexcept;
    static auto parent_of(cancel_scope& s) noexcept -> cancel_scope*&;
    static void pop(cancel_scope& s) noexcept;
    static auto pending(const promise_base* t) noexcept -> bool;
    /// No cancelled scope and no shield between the task and an exception thrown into it.
    static auto interrupt_is_next(const promise_base* t) noexcept -> bool;
    static void mark_task_scope_body(cancel_scope& s) noexcept {
        s.m_owner_bits |= cancel_scope::s_task_scope_body;
    }
    [[nodiscard]] static auto is_task_scope_body(const cancel_scope& s) noexcept -> bool {
        return s.has(cancel_scope::s_task_scope_body);
    }
    /// What throw_cancelled() raises in a task inside scopes, once an exception thrown into it
    /// was not raised first: true for a cancelled scope's cancellation, false for the task's
    /// own (consumed here).
    static auto scope_cancellation_first(promise_base* t) noexcept -> bool;
    /// A cancelled scope comes before any shield on the way out from `t`.
    static auto cancelled_scope_first(const promise_base* t) noexcept -> bool;
};

/// now + d on the calling thread's loop, saturating at cancel_scope::no_deadline.
/// **Throws:** usage_error off a loop thread, naming `what`.
auto deadline_after(event_loop::duration d, const char* what) -> event_loop::time_point;

template <class A>
auto as_awaiter(A&& a) -> decltype(auto) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
        return std::forward<A>(a).operator co_await();
    } else {
        return std::forward<A>(a);
    }
}
/// What `co_await a` yields for an awaitable of type A.
template <class A>
using await_result_t =
    decltype(std::declval<std::add_lvalue_reference_t<decltype(as_awaiter(std::declval<A>()))>>()
                 .await_resume());

/// How a scope turns its work (stored as `Stored`) into the child task it runs.
template <class Stored>
struct work_traits {
    using work = std::remove_reference_t<Stored>;
    static auto pick() {
        if constexpr (is_task<work>::value) {
            return std::type_identity<typename work::value_type>{};
        } else if constexpr (std::invocable<work&>) {
            using made = std::invoke_result_t<work&>;
            if constexpr (is_task<made>::value) {
                return std::type_identity<typename made::value_type>{};
            } else {
                return std::type_identity<await_result_t<made>>{};
            }
        } else {
            return std::type_identity<await_result_t<work>>{};
        }
    }
    // An awaitable that yields `U&&` gives a U (a task cannot hold an rvalue reference).
    using picked = typename decltype(pick())::type;
    using value_type = std::conditional_t<std::is_rvalue_reference_v<picked>,
                                          std::remove_reference_t<picked>, picked>;

    static auto make(work& w) -> task<value_type> {
        if constexpr (is_task<work>::value) {
            static_assert(!std::is_lvalue_reference_v<Stored>,
                          "pass a task to a cancel scope by value: std::move(t), or call the task "
                          "function in place");
            return std::move(w);
        } else if constexpr (std::invocable<work&>) {
            if constexpr (is_task<std::invoke_result_t<work&>>::value) {
                return w();
            } else {
                return [](work& f) -> task<value_type> { co_return co_await f(); }(w);
            }
        } else if constexpr (std::is_lvalue_reference_v<Stored>) {
            return [](work& a) -> task<value_type> { co_return co_await a; }(w);
        } else {
            return [](work& a) -> task<value_type> { co_return co_await std::move(a); }(w);
        }
    }
};

/// Runs work inside a cancel scope as a child task of the awaiting task. `Fail` picks the
/// result: the work's own type (fail_after(d, work): timeout_error on expiry), or
/// scope_result_t (run(), move_on_after(d, work)).
template <class Stored, bool Fail>
class [[nodiscard, gnu::warn_unused]] scope_awaiter {
    static_assert(std::is_reference_v<Stored> || std::is_move_constructible_v<Stored>,
                  "this awaitable cannot be moved into the scope (sleep() and other awaiters live "
                  "where they are made): pass a lambda that returns it, "
                  "[] { return coven::sleep(10s); }");

public:
    using value_type = typename work_traits<Stored>::value_type;
    using result_type = std::conditional_t<Fail, value_type, scope_result_t<value_type>>;

    template <class W>
    scope_awaiter(cancel_scope & scope, W && work)
        : m_scope(&scope), m_work(std::forward<W>(work)) {}
    scope_awaiter(const scope_awaiter&) = delete;
    auto operator=(const scope_awaiter&)->scope_awaiter& = delete;
    ~scope_awaiter() {
        if (m_entered && m_scope->m_task) { // a frame destroyed while suspended in the block
            m_child = task<value_type>();   // inner scopes leave first
            scope_kernel::abandon(*m_scope);
        }
    }

    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    void await_suspend(std::coroutine_handle<> caller) {
        promise_base* self = require_current_task("co_await on a cancel scope");
        m_child = work_traits<Stored>::make(m_work);
        auto child = m_child.operator co_await(); // throws for an empty or used task: first
        scope_kernel::enter(*m_scope, self);
        m_entered = true;
        // As task<T>'s awaiter: the child runs next, through the loop's trampoline.
        child.await_suspend(caller);
        m_handle = child.m_handle;
    }
    auto await_resume()->result_type {
        auto& p = m_handle.promise();
        if (scope_kernel::leave(*m_scope, p.m_exception)) {
            if constexpr (Fail) {
                scope_kernel::throw_timeout();
            } else {
                if (m_scope->has(cancel_scope::s_fail)) {
                    scope_kernel::throw_timeout();
                }
                return result_type{};
            }
        }
        if constexpr (Fail) {
            return p.result();
        } else if constexpr (std::is_void_v<value_type>) {
            p.result();
            return true;
        } else if constexpr (std::is_reference_v<value_type>) {
            return result_type(std::ref(p.result()));
        } else {
            return result_type(p.result());
        }
    }

private:
    cancel_scope* m_scope;
    Stored m_work;
    task<value_type> m_child;
    typename task<value_type>::handle_type m_handle;
    bool m_entered = false; // by this awaiter: a failed second entry must not pop the scope
};

/// scope_awaiter with a scope of its own (the one-expression forms of timeout.hpp).
struct scope_holder {
    cancel_scope m_own;
    explicit scope_holder(event_loop::time_point deadline) noexcept : m_own(deadline) {}
};
template <class Stored, bool Fail>
class [[nodiscard, gnu::warn_unused]] owning_scope_awaiter
    : private scope_holder,
      public scope_awaiter<Stored, Fail>{
          public : template <class W>
          owning_scope_awaiter(event_loop::time_point deadline, W&& work) : scope_holder(deadline),
          scope_awaiter<Stored, Fail>(m_own, std::forward<W>(work)){}
      };

} // namespace detail

template <class Work>
auto cancel_scope::run(Work&& work) & -> detail::scope_awaiter<detail::stored_work_t<Work>, false> {
    return detail::scope_awaiter<detail::stored_work_t<Work>, false>(*this,
                                                                     std::forward<Work>(work));
}

template <class Work>
auto fail_scope::run(Work&& work) & -> detail::scope_awaiter<detail::stored_work_t<Work>, true> {
    return detail::scope_awaiter<detail::stored_work_t<Work>, true>(*this,
                                                                    std::forward<Work>(work));
}

inline void cancel_scope::set_deadline(time_point deadline) {
    detail::scope_kernel::set_deadline(*this, deadline);
}
template <class Rep, class Period>
void cancel_scope::set_timeout(std::chrono::duration<Rep, Period> d) {
    set_deadline(detail::deadline_after(detail::to_loop_duration(d, "cancel_scope::set_timeout()"),
                                        "cancel_scope::set_timeout()"));
}
inline void cancel_scope::set_timeout(double seconds) {
    set_timeout(std::chrono::duration<double>(seconds));
}
inline void cancel_scope::cancel() {
    if (m_task) {
        detail::require_loop_thread(m_task, "cancel_scope::cancel()");
    }
    detail::scope_kernel::cancel(*this);
}
inline void cancel_scope::set_shield(bool on) {
    detail::scope_kernel::set_shield(*this, on);
}

inline cancel_scope::~cancel_scope() {
    if (m_task) { // only if the block's frame was torn down without leaving
        detail::scope_kernel::abandon(*this);
    }
}

} // namespace coven
