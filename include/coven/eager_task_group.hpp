#pragma once
// coven::eager_task_group: asynkit's EagerTaskGroup (K25) on the task_scope core. Children start
// eagerly, inside start_soon() / start(), and run until their first suspension; start() hands
// back the value the child passes to task_status.started() (Trio's "the server is listening").

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>
#include <coven/task_scope.hpp>

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {

/// Where a started() value (or the child's early failure) meets start()'s awaiter.
template <class T>
struct start_slot {
    using stored = std::conditional_t<std::is_void_v<T>, bool, T>;
    std::optional<stored> value;
    std::exception_ptr error;
    promise_base* parked = nullptr; // the task awaiting start(), while it waits
    bool resolved = false;
    bool taken = false;           // an awaiter has resumed with the outcome
    bool child_cancelled = false; // the child was cancelled before started()
    /// Fires when the child ends: a child cancelled before its first turn never ran its body.
    /// It owns a reference to the slot, which must outlive the firing: loop stop may destroy
    /// the child's frame, which holds the slot too, before the child's end is told.
    struct end_node : completion_node {
        std::shared_ptr<start_slot> m_slot;
        explicit end_node(std::shared_ptr<start_slot> slot) noexcept : m_slot(std::move(slot)) {
            m_fire = [](completion_node* n, promise_base*) noexcept {
                auto* self = static_cast<end_node*>(n);
                if (!self->m_slot->resolved) {
                    self->m_slot->child_cancelled = true;
                    self->m_slot->resolve();
                }
                delete self;
            };
            // Loop stop destroyed an unreferenced child (its start() result is gone too).
            m_dropped = [](completion_node* n, promise_base*) noexcept {
                delete static_cast<end_node*>(n);
            };
        }
    };

    start_slot() = default;
    start_slot(const start_slot&) = delete;
    auto operator=(const start_slot&) -> start_slot& = delete;
    ~start_slot() {
        if (error && !taken) { // nobody awaited start(): the failure is not dropped silently
            report_unobserved_error(error, "the child of eager_task_group::start()");
        }
    }

    void resolve() noexcept {
        resolved = true;
        if (parked != nullptr) {
            wake(std::exchange(parked, nullptr));
        }
    }
};

} // namespace detail

/// Handed to a child started with eager_task_group::start(): the child calls started(value)
/// once it is ready (say, listening), and start()'s awaiter resumes with that value.
/// **Thread safety:** the child's loop thread (the child calls it from its own body).
/// **Throws:** usage_error when started() is called twice; what constructing the value throws.
template <class T = void>
class task_status {
public:
    /// Reports the child ready, with its value (none for task_status<void>).
    template <class... V>
    void started(V&&... value) {
        if (m_slot->resolved) {
            detail::throw_usage("task_status::started() called twice; a child is started once");
        }
        if constexpr (std::is_void_v<T>) {
            static_assert(sizeof...(V) == 0, "task_status<void>::started() takes no value");
            m_slot->value.emplace(true);
        } else {
            m_slot->value.emplace(std::forward<V>(value)...);
        }
        m_slot->resolve();
    }

private:
    friend class eager_task_group;
    explicit task_status(std::shared_ptr<detail::start_slot<T>> slot) noexcept
        : m_slot(std::move(slot)) {}
    std::shared_ptr<detail::start_slot<T>> m_slot;
};

/// What eager_task_group::start() returns: await it (once) for the started() value. Move-only.
/// **Cancellation:** cancelling the awaiting task cancels the child too (it has not reported
/// ready, and nobody else waits for it to be); the awaiter raises cancelled_error at once. A
/// cancellation already pending does the same, unless the child has reported ready already
/// (then the value is returned without suspending). An interrupt (task_interrupt()) of the
/// awaiting task leaves the wait at once and does not cancel the child.
/// **Thread safety:** awaited from a task of the child's loop, on its thread.
/// **Throws:** the child's error if it failed before started(); coven::error if it was
/// cancelled before started() (by its group; cancelled_error instead if the awaiting task is
/// being cancelled too); usage_error if it ended without calling started(), when awaited twice
/// or by two tasks at once, outside a coven task, or from a task of another loop.
template <class T>
class [[nodiscard]] start_result {
public:
    start_result(start_result&&) noexcept = default;
    auto operator=(start_result&&) noexcept -> start_result& = default;

    class awaiter : private detail::waiter {
    public:
        explicit awaiter(start_result& r) noexcept : m_result(&r) {}
        awaiter(const awaiter&) = delete;
        auto operator=(const awaiter&) -> awaiter& = delete;
        ~awaiter() {
            if (m_task != nullptr && slot().parked == m_task) {
                slot().parked = nullptr; // a frame destroyed while waiting
            }
        }
        [[nodiscard]] auto await_ready() const noexcept -> bool { return slot().resolved; }
        auto await_suspend(std::coroutine_handle<> h) -> bool {
            m_task = detail::require_current_task("co_await start_result");
            detail::require_loop_thread(&m_result->m_child.promise(),
                                        "co_await start_result (from another loop)");
            if (slot().parked != nullptr) {
                detail::throw_usage("a start_result awaited by two tasks at once; await it once");
            }
            if (detail::cancel_pending(m_task)) {
                m_cancelled = true;
                if (!detail::interrupt_is_next(m_task)) { // an interrupt leaves the child be
                    m_result->m_child.cancel();
                }
                return false;
            }
            m_on_cancel = [](detail::waiter* w, detail::promise_base* task) noexcept {
                auto* self = static_cast<awaiter*>(w);
                self->slot().parked = nullptr;
                self->m_cancelled = true;
                if (!detail::interrupt_is_next(task)) {
                    detail::cancel_root(&self->m_result->m_child.promise());
                }
                detail::wake(task);
                return detail::cancel_result::unlinked;
            };
            detail::park(m_task, this, h);
            slot().parked = m_task;
            return true;
        }
        auto await_resume() -> T {
            if (m_cancelled) {
                detail::throw_cancelled(m_task);
            }
            auto& s = slot();
            if (s.taken) {
                detail::throw_usage("a start_result awaited twice; its value is handed out once");
            }
            s.taken = true;
            if (s.child_cancelled) {
                if (m_task != nullptr && detail::cancel_pending(m_task)) {
                    detail::throw_cancelled(m_task); // we are being cancelled too: say so
                }
                // Not our cancellation: a distinct error, so that we do not end "cancelled".
                throw error("coven: the child of eager_task_group::start() was cancelled (with "
                            "its group) before it called task_status.started()");
            }
            if (s.error) {
                std::rethrow_exception(s.error);
            }
            if constexpr (!std::is_void_v<T>) {
                return std::move(*s.value);
            }
        }

    private:
        [[nodiscard]] auto slot() const noexcept -> detail::start_slot<T>& {
            return *m_result->m_slot;
        }
        start_result* m_result;
        detail::promise_base* m_task = nullptr;
        bool m_cancelled = false;
    };
    auto operator co_await() & -> awaiter { return awaiter(*this); }
    auto operator co_await() && -> awaiter { return awaiter(*this); }

    /// True once the child called started() or ended before it.
    [[nodiscard]] auto ready() const noexcept -> bool { return m_slot->resolved; }
    /// The child's task.
    [[nodiscard]] auto child() const -> const future<void>& { return m_child; }

private:
    friend class eager_task_group;
    start_result(std::shared_ptr<detail::start_slot<T>> slot, future<void> child) noexcept
        : m_slot(std::move(slot)), m_child(std::move(child)) {}
    std::shared_ptr<detail::start_slot<T>> m_slot;
    future<void> m_child;
};

/// asynkit's eager task group (K25): a view of a task_scope whose children start eagerly. Made
/// by with_eager_task_group(), or around any task_scope.
///  - `start_soon(task)`: the child runs at once, up to its first suspension, then start_soon()
///    returns (its future);
///  - `start<T>(fn, args...)`: the child is `fn(args..., task_status<T>)`, run eagerly; `co_await`
///    the result for the value it passes to `task_status.started(value)`. `fn` and `args` are
///    moved into the child, which keeps them alive. A failure before started() is raised there,
///    not in the group; after it, the child is an ordinary member of the group.
/// A child that fails in its first segment has already bubbled into the scope when
/// start_soon() returns, before anyone could await it: spawn it with
/// `core().spawn(t, {.bubble = false, .eager = true})` to handle its error yourself.
/// The group's end, errors and cancellation are the task_scope's.
/// **Thread safety:** the loop's thread.
class eager_task_group {
public:
    explicit eager_task_group(task_scope& scope) noexcept : m_scope(&scope) {}

    /// Spawns `t` and runs it up to its first suspension before returning.
    /// **Throws:** what task_scope::spawn() throws (usage_error once the scope has ended,
    /// std::bad_alloc); a failure of the child stays in its future and bubbles into the scope.
    template <class T>
    auto start_soon(task<T> t, std::string_view name = {}) -> future<T> {
        return m_scope->spawn(std::move(t), {.name = name, .eager = true});
    }

    /// Starts `fn(args..., task_status<T>)` eagerly; await the result for its started() value.
    /// **Throws:** what task_scope::spawn() throws; std::bad_alloc. What the child throws before
    /// started() is raised by the awaited start_result, not here.
    template <class T = void, class Fn, class... Args>
    auto start(Fn fn, Args... args) -> start_result<T> {
        using end_node = typename detail::start_slot<T>::end_node;
        auto slot = std::make_shared<detail::start_slot<T>>();
        auto ended = std::make_unique<end_node>(slot); // made first: nothing fails after the spawn
        future<void> child = m_scope->spawn(
            starter<T, Fn, Args...>(slot, std::move(fn), std::move(args)...), {.eager = true});
        if (!child.done()) { // a child cancelled before its first turn resolves it by ending
            detail::add_completion(&child.promise(), ended.release());
        }
        return start_result<T>(std::move(slot), std::move(child));
    }

    /// Cancels every child. **Throws:** as task_scope::cancel().
    void cancel() { m_scope->cancel(); }
    [[nodiscard]] auto core() noexcept -> task_scope& { return *m_scope; }

private:
    /// Runs the child: an error before started() goes to start()'s awaiter instead of the group;
    /// ending without started() is reported there too.
    template <class T, class Fn, class... Args>
    static auto starter(std::shared_ptr<detail::start_slot<T>> slot, Fn fn, Args... args)
        -> task<void> {
        std::exception_ptr early;
        try {
            task<void> body = std::invoke(fn, args..., task_status<T>(slot));
            co_await std::move(body);
        } catch (const cancelled_error&) {
            if (!slot->resolved) {
                slot->child_cancelled = true;
                slot->resolve();
            }
            throw; // the child ends cancelled, as it should
        } catch (...) {
            if (slot->resolved) {
                throw; // started: an ordinary error of the group
            }
            early = std::current_exception(); // start()'s awaiter gets it, not the group
        }
        if (!slot->resolved) {
            slot->error = early ? early
                                : std::make_exception_ptr(usage_error(
                                      "coven: a child of eager_task_group::start() ended without "
                                      "calling task_status.started()"));
            slot->resolve();
        }
    }

    task_scope* m_scope;
};

/// asynkit's `async with create_eager_task_group() as tg:`: with_scope() with an
/// eager_task_group view of the scope. The view lives until every child has ended, so children
/// may keep a reference to it.
/// **Cancellation:** as with_scope(): cancelling the awaiting task cancels the body and every
/// child, and the await raises cancelled_error once they have unwound.
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** as with_scope().
/// **g++ 12:** a body written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a body first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::with_eager_task_group([&](coven::eager_task_group& tg) -> coven::task<> {
///     auto port = co_await tg.start<int>(serve);  // serve(task_status<int>) calls started(8080)
///     tg.start_soon(client(port));
/// });
/// ```
template <class Body>
auto with_eager_task_group(Body body, scope_options options = {}) -> task<void> {
    static_assert(detail::returns_task<Body, eager_task_group&>(),
                  "with_eager_task_group()'s block must be callable with a "
                  "coven::eager_task_group& and return a coven::task: write "
                  "[&](coven::eager_task_group& tg) -> coven::task<> { ... }");
    std::optional<eager_task_group> group; // here, not in the block: children outlive the block
    co_await with_scope(options, [&body, &group](task_scope& scope) -> task<void> {
        group.emplace(scope);
        co_await body(*group);
    });
}

} // namespace coven
