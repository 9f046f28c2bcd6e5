#pragma once
// coven::task_local<T>: a value per task, inherited as a copy by the tasks it makes (asynkit's
// context handling, Python's contextvars; K7).

#include <atomic>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace coven {

namespace detail {

/// One task's (or one thread's) task_local values. Shared, read-only, between a task and the
/// tasks it made until one of them sets a value: setting copies the map first (copy on write).
struct local_values {
    std::unordered_map<const void*, std::shared_ptr<const void>> values;
};

/// The values of the running task, else of the calling thread; null when none was ever set.
auto current_locals() noexcept -> const local_values*;
/// Sets `key` to `value` for the running task (else the calling thread) only.
void set_local(const void* key, std::shared_ptr<const void> value);
/// Removes `key` from the running task's (else the thread's) values.
void erase_local(const void* key);
/// The running task's (else the thread's) values, shared; null when none was ever set.
auto current_values() -> std::shared_ptr<const local_values>;

/// A context's values, and whether a task or a run() is using it (entered).
struct context_state {
    std::shared_ptr<const local_values> values;
    std::atomic<bool> entered{false};
};

struct promise_base;
/// Binds a root task, before its first turn, to a context: it reads and sets the context's
/// values. **Throws:** usage_error if the context is in use.
void bind_context(promise_base* root, std::shared_ptr<context_state> s);

/// While it lives, the calling task (or thread) reads and sets the context's values.
class context_run {
public:
    explicit context_run(std::shared_ptr<context_state> s);
    ~context_run();
    context_run(const context_run&) = delete;
    auto operator=(const context_run&) -> context_run& = delete;

private:
    std::shared_ptr<context_state> m_state; // alive for the call, whatever `fn` does
    promise_base* m_task = nullptr;
    context_state* m_previous_thread = nullptr;
    std::shared_ptr<context_state> m_previous_bound;
    std::shared_ptr<const local_values> m_previous_values;
    bool m_bound_here = false;
};

} // namespace detail

template <class T>
class task_local;

/// A set of task_local values that code can run in (Python's contextvars.Context; asynkit's
/// `context=` arguments, K7). copy() takes the running task's values; run(fn) calls `fn` with
/// the context's values current, and coro_await(t, ctx) / coro_start(t, ctx) run a task in it:
/// what they set lands in the context, not in the caller's values, and stays there for the next
/// user. Copies of a `context` object share one context.
/// **Thread safety:** one user at a time: entering a context that a task or a run() is using
/// throws usage_error (as Python's Context.run() raises). Tasks made inside it start with a copy.
/// get() while a task on another thread runs in the context is a data race: read it after that
/// task has ended (its end frees the context, before its done-callbacks run).
/// **Cancellation:** nothing here is an awaitable; for tasks run in a context, see coro_await()
/// and coro_start() (coven/coro_start.hpp).
/// **Throws:** std::bad_alloc from the constructors, copy() and run(); usage_error from run()
/// while the context is in use.
/// **Example:**
/// ```
/// auto ctx = coven::context::copy();
/// request_id.set("outer");
/// co_await coven::coro_await(set_request_id("inner"), ctx);
/// // request_id.get() == "outer", ctx.get(request_id) == "inner"
/// ```
class context {
public:
    /// An empty context: every task_local reads its initial value in it.
    context() : m_state(std::make_shared<detail::context_state>()) {}
    /// A copy of the running task's values (else the calling thread's): copy_context().
    [[nodiscard]] static auto copy() -> context {
        context c;
        c.m_state->values = detail::current_values();
        return c;
    }

    /// `var`'s value in this context (its initial value if it was never set here).
    /// **Throws:** what copying a T throws.
    template <class T>
    [[nodiscard]] auto get(const task_local<T>& var) const -> T;

    /// Calls `fn()` with this context's values current and returns what it returns.
    /// **Throws:** usage_error if the context is in use; what `fn` throws.
    template <class F>
    auto run(F&& fn) -> std::invoke_result_t<F&&> {
        detail::context_run guard(m_state);
        return std::forward<F>(fn)();
    }

    /// For coro_start() and coro_await().
    [[nodiscard]] auto state() const noexcept -> const std::shared_ptr<detail::context_state>& {
        return m_state;
    }

private:
    std::shared_ptr<detail::context_state> m_state;
};

/// A variable with one value per task (K7). A root task starts with a copy of the values of the
/// task (or thread) that made it, then its sets are its own: neither the maker nor the tasks it
/// makes later see them. An awaited sub-task is part of its root and shares its values. Outside
/// any task, the calling thread has values of its own, which tasks made there inherit.
/// get() returns a copy: a value is never changed under a reader.
/// **Thread safety:** get() and set() act on the calling thread's running task; a task_local
/// object itself may be shared between threads (it holds only the initial value).
/// **Cancellation:** nothing here is an awaitable. A scoped_value in a task that is cancelled
/// (or destroyed at loop stop) puts the previous value back as the task unwinds, in the task's
/// own values.
/// **Throws:** get() what copying a T throws; set(), reset() and scoped() std::bad_alloc (a set
/// copies the task's map of values first) and what moving or copying a T throws.
/// **Example:**
/// ```
/// coven::task_local<std::string> request_id("-");
/// request_id.set("r-17");
/// co_await handle();            // sees "r-17"; so do the tasks it creates
/// ```
template <class T>
class task_local {
public:
    explicit task_local(T initial = T{}) : m_initial(std::move(initial)) {}
    ~task_local() = default;
    task_local(const task_local&) = delete;
    auto operator=(const task_local&) -> task_local& = delete;

    /// The running task's value (a copy), or the initial value if it never set one.
    [[nodiscard]] auto get() const -> T {
        if (const detail::local_values* locals = detail::current_locals()) {
            if (auto it = locals->values.find(this); it != locals->values.end()) {
                return *static_cast<const T*>(it->second.get());
            }
        }
        return m_initial;
    }
    /// Sets the running task's value.
    void set(T value) { detail::set_local(this, std::make_shared<const T>(std::move(value))); }
    /// Back to the initial value, for the running task.
    void reset() { detail::erase_local(this); }

    /// Sets a value until the guard goes, then puts the previous one back (ContextVar.set() and
    /// reset(token)). Use it in one task, in a nested block.
    class [[nodiscard]] scoped_value {
    public:
        scoped_value(task_local& var, T value) : m_var(&var), m_previous(var.get()) {
            var.set(std::move(value));
        }
        ~scoped_value() {
            try {
                m_var->set(std::move(m_previous));
            } catch (...) { // out of memory while restoring: the scoped value stays
            }
        }
        scoped_value(const scoped_value&) = delete;
        auto operator=(const scoped_value&) -> scoped_value& = delete;

    private:
        task_local* m_var;
        T m_previous;
    };
    [[nodiscard]] auto scoped(T value) -> scoped_value {
        return scoped_value(*this, std::move(value));
    }

private:
    friend class context;
    T m_initial;
};

template <class T>
auto context::get(const task_local<T>& var) const -> T {
    // Read while nobody is changing it: the context is not in use, or in use by this thread.
    if (const auto& values = m_state->values) {
        if (auto it = values->values.find(&var); it != values->values.end()) {
            return *static_cast<const T*>(it->second.get());
        }
    }
    return var.m_initial;
}

} // namespace coven
