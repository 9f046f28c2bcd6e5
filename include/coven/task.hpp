#pragma once
// coven::task<T>: the lazy coroutine type users write (S1).

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace coven {

template <class T = void>
class task;

namespace detail {

template <class T>
class task_promise;

/// At the end of a child, hand control to its continuation (through the loop's trampoline, see
/// t_transfer: no stack growth); at the end of a root, notify the loop.
struct final_awaiter {
    [[nodiscard]] auto await_ready() const noexcept -> bool { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) const noexcept {
        promise_base& p = h.promise();
        if (!p.has(promise_base::f_root)) {
            t_transfer = p.m_resume;
            return;
        }
        root_finished(&p); // may destroy the frame: touch nothing after this
    }
    void await_resume() const noexcept {}
};

/// True if `e` holds a cancelled_error. Classifying by rethrowing costs a second throw per
/// cancelled task; with libstdc++ the exact type is read off the exception_ptr instead, and only
/// other exceptions (failures, or types derived from cancelled_error) take the slow path.
inline auto is_cancellation(const std::exception_ptr& e) noexcept -> bool {
#if defined(__GLIBCXX__)
    if (const std::type_info* type = e.__cxa_exception_type();
        type && *type == typeid(cancelled_error)) {
        return true;
    }
#endif
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

/// True if `e` is exactly a cancelled_error, not a type derived from it: what a cancel scope and
/// the task's own cancel request raise (an interrupt_error is not a scope's own cancellation).
inline auto is_plain_cancellation(const std::exception_ptr& e) noexcept -> bool {
#if defined(__GLIBCXX__)
    const std::type_info* type = e.__cxa_exception_type();
    return type != nullptr && *type == typeid(cancelled_error);
#else
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error& c) {
        return typeid(c) == typeid(cancelled_error);
    } catch (...) {
        return false;
    }
#endif
}

template <class T>
class task_promise_storage : public promise_base {
public:
    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) { m_value.emplace(std::forward<U>(v)); }
    auto value() -> T& { return *m_value; }
    auto take() -> T { return std::move(*m_value); }

private:
    std::optional<T> m_value;
};

template <class T>
class task_promise_storage<T&> : public promise_base {
public:
    void return_value(T& v) noexcept { m_value = std::addressof(v); }
    auto value() -> T& { return *m_value; }
    auto take() -> T& { return *m_value; }

private:
    T* m_value = nullptr;
};

template <>
class task_promise_storage<void> : public promise_base {
public:
    void return_void() noexcept {}
    void value() noexcept {}
    void take() noexcept {}
};

template <class T>
class task_promise final : public task_promise_storage<T> {
public:
    task_promise() noexcept { this->m_destroy = &destroy_frame; }
    /// Destroys the frame of a task whose promise is `p`. Its address also identifies T, so a
    /// type-erased handle can be turned back into a future<T> safely (any_future::as<T>()).
    /// A dropped root's frame is gone already: only the block that keeps its state is freed.
    static void destroy_frame(promise_base* p) noexcept {
        if (p->frame_dropped()) [[unlikely]] {
            free_dropped_frame(p);
            return;
        }
        std::coroutine_handle<task_promise>::from_promise(*static_cast<task_promise*>(p)).destroy();
    }
    auto get_return_object() noexcept -> task<T>;
    // Lazy start. A root cancelled before its first turn is finished by the loop without
    // running the body (an empty initial awaiter keeps every frame 8 bytes smaller than one
    // that checks the cancel here).
    auto initial_suspend() noexcept -> std::suspend_always { return {}; }
    auto final_suspend() noexcept -> final_awaiter { return {}; }
    void unhandled_exception() noexcept {
        auto e = std::current_exception();
        if (this->has(promise_base::f_root) && is_cancellation(e)) {
            // The outcome is the flag; result() throws a fresh cancelled_error. Not keeping the
            // exception object saves its ~100 bytes per cancelled task.
            this->set(promise_base::f_cancelled);
            return;
        }
        this->m_exception = std::move(e);
    }

    /// The result, or rethrows the exception the body ended with.
    auto result() -> decltype(auto) {
        if (this->m_exception) {
            std::rethrow_exception(this->m_exception);
        }
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return this->take();
        }
    }
};

} // namespace detail

/// A lazy coroutine: calling a `task<T>` function runs nothing; `co_await`ing the task runs it
/// inside the awaiting task's turn; control passes through the loop's trampoline, so a chain of
/// tasks that complete synchronously never grows the stack, at any optimisation level. Pass it to
/// event_loop::create_task() to run it concurrently (it then becomes a root task reached through
/// coven::future<T>).
///
/// `T` may be void, a value type (move-only is fine) or a reference.
///
/// **Cancellation:** a task has no cancel state of its own while it is awaited: it runs as part of
/// the root task that awaits it, so cancelling that root reaches the innermost awaiter.
/// **Throws:** `co_await` rethrows whatever the body threw. Calling a `task<T>` function throws
/// std::bad_alloc if its frame cannot be allocated (and whatever copying its arguments throws).
/// **Thread safety:** a task object is moved between threads freely until it starts; after that
/// it belongs to the loop that runs it. Destroying one that never started destroys its frame and
/// runs nothing, on any thread.
template <class T>
class [[nodiscard, gnu::warn_unused]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : m_handle(h) {}
    task(task && other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    auto operator=(task&& other) noexcept->task& {
        if (this != &other) {
            reset();
            m_handle = std::exchange(other.m_handle, {});
        }
        return *this;
    }
    task(const task&) = delete;
    auto operator=(const task&)->task& = delete;
    ~task() {
        reset();
    }

    /// True while this object owns a coroutine that has not been handed to a loop.
    [[nodiscard]] auto valid() const noexcept->bool {
        return static_cast<bool>(m_handle);
    }

    struct awaiter {
        handle_type m_handle;
        [[nodiscard]] auto await_ready() const noexcept -> bool { return false; }
        void await_suspend(std::coroutine_handle<> caller) noexcept {
            m_handle.promise().m_resume = caller;
            detail::t_transfer = m_handle; // the loop's trampoline resumes it next
        }
        auto await_resume() -> decltype(auto) { return m_handle.promise().result(); }
    };

    /// Starts the task and resumes the caller with its result.
    /// **Cancellation:** the awaiting root task's cancellation reaches the innermost await inside
    /// the body; whatever the body then throws (cancelled_error unless it catches it) comes out of
    /// this co_await. Starting the task is not a suspension point: a pending cancellation is seen
    /// by the body's first await, not here.
    /// **Thread safety:** from a coven task, on its loop's thread.
    /// **Throws:** usage_error on an empty task (moved from, or spawned) or one that was already
    /// awaited; then whatever the body throws.
    auto operator co_await()&&->awaiter {
        return awaiter{start_child()};
    }
    auto operator co_await()&->awaiter {
        return awaiter{start_child()};
    }

    /// Gives up ownership of the coroutine (used by the loop when it spawns the task).
    auto release() noexcept->handle_type {
        return std::exchange(m_handle, {});
    }

private:
    auto start_child()->handle_type {
        if (!m_handle) {
            detail::throw_usage("co_await on an empty task (moved from, or already spawned); "
                                "a task can be awaited once");
        }
        auto& p = m_handle.promise();
        if (p.has(detail::promise_base::f_awaited)) {
            detail::throw_usage("co_await on a task that was already awaited; a task<T> runs "
                                "once: spawn it with create_task() to await its result many times");
        }
        p.set(detail::promise_base::f_awaited);
        return m_handle;
    }
    void reset() noexcept {
        if (m_handle) {
            m_handle.destroy();
            m_handle = {};
        }
    }

    handle_type m_handle;
};

namespace detail {
template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

/// True if `Body` called with `Args` returns a coven::task: what an API that takes a block of
/// code (with_scope(), repeat_timeout(), ...) checks with a static_assert, so that a lambda
/// without `-> coven::task<>` gets a message that names the fix instead of an error deep inside
/// co_await.
template <class Body, class... Args>
constexpr auto returns_task() -> bool {
    if constexpr (std::is_invocable_v<Body&, Args...>) {
        return is_task<std::remove_cvref_t<std::invoke_result_t<Body&, Args...>>>::value;
    } else {
        return false;
    }
}
} // namespace detail

template <class T>
auto detail::task_promise<T>::get_return_object() noexcept -> task<T> {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}

} // namespace coven
