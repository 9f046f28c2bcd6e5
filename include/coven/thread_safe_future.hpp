#pragma once
// coven::thread_safe_future: a task of one loop, seen from any thread (S15-S17). Made by
// event_loop::create_task_thread_safe() from any thread, or by thread_safe() from a future on its
// loop's thread. Other threads block on it (sync_wrap().wait()); tasks of other loops await it
// (async_wrap()).

#include <coven/detail/promise_base.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace coven {

namespace detail {

/// A task parked on a thread_safe_future; shared with the thread that finishes the outcome.
struct remote_waiter {
    loop_core* m_loop = nullptr;    // the waiting task's loop
    promise_base* m_task = nullptr; // the parked task: its loop's thread only; null once gone
    /// The wake-up, allocated when the task parks so that posting it cannot fail for memory;
    /// handed to the loop by post_remote_wake(), or dropped with the waiter.
    std::unique_ptr<remote_item> m_wake;
};

/// Makes `w`'s wake-up item (src/thread_safe_future.cpp). **Throws:** bad_alloc.
void prepare_remote_wake(const std::shared_ptr<remote_waiter>& w);
/// Posts `w`'s wake-up to its loop.
void post_remote_wake(remote_waiter& w) noexcept;
/// Stops `w` waiting: its prepared wake-up is dropped. The state's lock held.
void drop_remote_wake(remote_waiter& w) noexcept;

/// The outcome of a task, filled once on its loop's thread and read from any thread.
template <class T>
struct shared_outcome {
    using stored = std::conditional_t<
        std::is_void_v<T>, bool,
        std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>;
    std::mutex m_mutex;
    std::condition_variable m_done_cv;
    bool m_done = false;
    bool m_taken = false; // a move-only value was handed out
    bool m_retrieved = false;
    bool m_report = true;     // report an error nobody retrieved (see the destructor)
    bool m_cancelled = false; // the outcome is a cancellation: never reported
    std::optional<stored> m_value;
    std::exception_ptr m_error;
    std::vector<std::shared_ptr<remote_waiter>> m_waiters;
    // The task's loop thread only:
    promise_base* m_task = nullptr; // null until made, and once ended
    bool m_cancel_requested = false;

    shared_outcome() = default;
    shared_outcome(const shared_outcome&) = delete;
    auto operator=(const shared_outcome&) -> shared_outcome& = delete;
    ~shared_outcome() {
        if (m_error && !m_retrieved && m_report && !m_cancelled) { // not dropped silently
            report_unobserved_error(m_error, "a task shared with create_task_thread_safe()");
        }
    }

    /// Records the outcome (on the task's loop thread) and wakes every waiter.
    template <class Fill>
    void finish(Fill fill) noexcept {
        std::lock_guard lock(m_mutex);
        try {
            fill(*this);
        } catch (...) {
            m_error = std::current_exception(); // copying the value failed
        }
        m_done = true;
        m_task = nullptr;
        // Under the lock: a waiter that leaves (cancelled, its loop stopping) takes it too, so
        // its loop cannot be torn down while we post to it.
        for (auto& w : m_waiters) {
            post_remote_wake(*w);
        }
        m_waiters.clear();
        m_done_cv.notify_all();
    }

    /// The outcome, for one waiter. m_mutex held.
    auto take() -> T {
        m_retrieved = true;
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (std::is_reference_v<T>) {
            return **m_value;
        } else if constexpr (std::is_copy_constructible_v<T>) {
            return *m_value;
        } else {
            if (m_taken) {
                throw_usage("the move-only value of a thread_safe_future was already taken; "
                            "wait for it once");
            }
            m_taken = true;
            return std::move(*m_value);
        }
    }

    /// Links the task of `f` to `self` (the task's loop thread). `may_move`: nobody else holds
    /// the task's value, so a move-only value can be moved out.
    static void attach(const std::shared_ptr<shared_outcome>& self, const future<T>& f,
                       bool may_move) {
        struct node : completion_node {
            std::shared_ptr<shared_outcome> outcome;
            future<T> task; // keeps the value alive until it is copied out
            bool may_move = false;
        };
        auto* n = new node{};
        n->outcome = self;
        n->task = f;
        n->may_move = may_move;
        n->m_fire = [](completion_node* c, promise_base*) noexcept {
            auto* me = static_cast<node*>(c);
            me->outcome->finish([me](shared_outcome& o) { o.fill(me->task, me->may_move); });
            delete me;
        };
        n->m_dropped = [](completion_node* c, promise_base*) noexcept {
            // Loop stop destroyed the task (it ignored cancellation): it will never end.
            auto* me = static_cast<node*>(c);
            me->outcome->finish([](shared_outcome& o) {
                o.m_cancelled = true;
                o.m_error = std::make_exception_ptr(cancelled_error(
                    "coven: the task's loop stopped, and the task ignored its cancellation"));
            });
            delete me;
        };
        f.promise().set(promise_base::f_joined); // its outcome is handled here
        self->m_task = &f.promise();
        add_completion(&f.promise(), n);
    }

    /// Copies (or moves) the ended task's outcome in. m_mutex held.
    void fill(const future<T>& done, bool may_move) {
        auto& p = done.promise();
        if (p.has(promise_base::f_cancelled) || p.m_exception) {
            m_cancelled = p.has(promise_base::f_cancelled);
            try {
                done.result(); // the task's exception, cancelled_error or timeout_error
            } catch (...) {
                m_error = std::current_exception();
            }
        } else if constexpr (std::is_void_v<T>) {
            m_value.emplace(true);
        } else if constexpr (std::is_reference_v<T>) {
            m_value.emplace(&done.result());
        } else if constexpr (std::is_copy_constructible_v<T>) {
            if (may_move) {
                m_value.emplace(std::move(done.result()));
            } else {
                m_value.emplace(done.result());
            }
        } else {
            m_value.emplace(std::move(done.result())); // may_move: checked by thread_safe()
        }
    }
};

} // namespace detail

/// A handle to a task of one loop that any thread may hold, copy, wait for and cancel (S15-S17).
///  - `sync_wrap().wait()` blocks a thread that drives no loop until the task ends (S16);
///    `wait(timeout)` gives up with timeout_error (the task runs on);
///  - `co_await f.async_wrap()` awaits it from a task of another loop (S17);
///  - `cancel()` requests cancellation from any thread.
/// Waiting does not cancel: a waiter that is cancelled, or times out, leaves alone.
/// **Cancellation:** cancelling a task that awaits async_wrap() makes it leave the task's waiters
/// at once and raise cancelled_error; the task runs on (call cancel() to stop it). An outcome that
/// arrived before the cancel reached the waiter is handed over instead, and the cancellation stays
/// pending for the next await. A blocked sync_wrap().wait() cannot be cancelled. If the loop
/// stops before the task is made, or destroys the task because it ignored its cancellation,
/// waiters get cancelled_error.
/// **Throws:** waits rethrow the task's exception, or cancelled_error / timeout_error when it was
/// cancelled; usage_error when blocking on a loop's thread (await async_wrap() there), for every
/// use of an empty handle but valid(), and when a move-only value is waited for a second time.
/// **Thread safety:** every member, from any thread.
template <class T>
class thread_safe_future {
public:
    thread_safe_future() = default;

    /// False for a default-constructed (or moved-from) handle.
    [[nodiscard]] auto valid() const noexcept -> bool { return m_state != nullptr; }

    /// True once the task has ended.
    [[nodiscard]] auto done() const -> bool {
        auto& s = state("thread_safe_future::done()");
        std::lock_guard lock(s.m_mutex);
        return s.m_done;
    }

    /// Requests cancellation of the task, on its loop. False if it has ended, or if its loop is
    /// stopping (which cancels it anyway).
    auto cancel() -> bool {
        auto& s = state("thread_safe_future::cancel()");
        // Posted under the lock: the task cannot end meanwhile (finish() takes the lock), so its
        // loop cannot have stopped and gone while we post to it.
        std::lock_guard lock(s.m_mutex);
        if (s.m_done) {
            return false;
        }
        try {
            m_loop->call_soon_threadsafe([state = m_state] {
                state->m_cancel_requested = true; // seen by the task's creation if still to come
                if (state->m_task != nullptr) {
                    cancel_root(state->m_task);
                }
            });
        } catch (const usage_error&) {
            return false;
        }
        return true;
    }

    /// S16: a blocking view of the outcome, for threads that drive no loop.
    class sync_waiter {
    public:
        /// Blocks until the task ends and returns its value.
        /// **Thread safety:** a thread that drives no loop.
        /// **Throws:** the task's exception, cancelled_error; usage_error on a loop's thread.
        auto wait() const -> T {
            detail::refuse_blocking("thread_safe_future::sync_wrap().wait()",
                                    "co_await async_wrap() instead");
            auto& s = *m_state;
            std::unique_lock lock(s.m_mutex);
            s.m_done_cv.wait(lock, [&] { return s.m_done; });
            return s.take();
        }
        /// wait(), giving up after `timeout` with timeout_error; the task runs on. The timeout
        /// follows coven/duration.hpp: past the clock's range it waits as wait() does.
        /// **Thread safety:** a thread that drives no loop.
        /// **Throws:** timeout_error when it expires; usage_error for a NaN timeout or on a loop's
        /// thread; as wait() otherwise.
        template <class Rep, class Period>
        auto wait(std::chrono::duration<Rep, Period> timeout) const -> T {
            detail::refuse_blocking("thread_safe_future::sync_wrap().wait()",
                                    "co_await async_wrap() instead");
            // (wait_for() itself adds to now() unchecked: a long timeout would overflow.)
            const auto deadline = detail::saturating_deadline(
                std::chrono::steady_clock::now(),
                detail::to_loop_duration(timeout, "thread_safe_future::sync_wrap().wait()"));
            if (deadline == std::chrono::steady_clock::time_point::max()) {
                return wait();
            }
            auto& s = *m_state;
            std::unique_lock lock(s.m_mutex);
            if (!s.m_done_cv.wait_until(lock, deadline, [&] { return s.m_done; })) {
                throw timeout_error("coven: sync_wrap().wait(timeout): the task did not end in "
                                    "time; it runs on");
            }
            return s.take();
        }
        /// wait() with a timeout in seconds.
        auto wait(double timeout_seconds) const -> T {
            return wait(std::chrono::duration<double>(timeout_seconds));
        }

    private:
        friend class thread_safe_future;
        explicit sync_waiter(std::shared_ptr<detail::shared_outcome<T>> s) noexcept
            : m_state(std::move(s)) {}
        std::shared_ptr<detail::shared_outcome<T>> m_state;
    };
    [[nodiscard]] auto sync_wrap() const -> sync_waiter {
        (void)state("thread_safe_future::sync_wrap()");
        return sync_waiter(m_state);
    }

    /// S17: awaited by a task of another loop (or of the same one).
    class [[nodiscard, gnu::warn_unused]] async_waiter : private detail::waiter {
    public:
        async_waiter(std::shared_ptr<detail::shared_outcome<T>> s, event_loop * expected) noexcept
            : m_state(std::move(s)), m_expected(expected) {}
        async_waiter(const async_waiter&) = delete;
        auto operator=(const async_waiter&)->async_waiter& = delete;
        ~async_waiter() {
            if (m_link && m_link->m_task != nullptr) { // a frame destroyed while waiting
                unlink();
            }
        }
        [[nodiscard]] auto await_ready() const noexcept->bool {
            return false;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            m_task = detail::require_current_task("co_await thread_safe_future::async_wrap()");
            if (m_expected != nullptr && m_expected != detail::owning_loop(m_task)) {
                detail::throw_usage("async_wrap(loop) awaited from a task of another loop; pass "
                                    "the awaiting task's own loop, or call async_wrap()");
            }
            if (detail::cancel_pending(m_task)) {
                m_cancelled = true;
                return false;
            }
            auto link = std::make_shared<detail::remote_waiter>();
            link->m_loop = m_task->m_loop;
            link->m_task = m_task;
            detail::prepare_remote_wake(link);
            {
                std::lock_guard lock(m_state->m_mutex);
                if (m_state->m_done) {
                    detail::drop_remote_wake(*link);
                    return false;
                }
                m_state->m_waiters.push_back(link);
            }
            m_link = std::move(link);
            detail::count_foreign_wait(m_task, +1);
            m_on_cancel = [](detail::waiter* w, detail::promise_base* task) noexcept {
                auto* self = static_cast<async_waiter*>(w);
                self->m_cancelled = !self->unlink(); // an outcome that arrived is handed over
                detail::wake(task);
                return detail::cancel_result::unlinked;
            };
            detail::park(m_task, this, h);
            return true;
        }
        auto await_resume()->T {
            if (m_cancelled) {
                detail::throw_cancelled(m_task);
            }
            std::lock_guard lock(m_state->m_mutex);
            return m_state->take();
        }

    private:
        /// Stops waiting; true if the task had ended meanwhile.
        auto unlink() noexcept->bool {
            if (m_link->m_task != nullptr) {
                detail::count_foreign_wait(m_link->m_task, -1);
                m_link->m_task = nullptr; // a wake-up already posted finds nobody
            }
            std::lock_guard lock(m_state->m_mutex);
            std::erase(m_state->m_waiters, m_link);
            detail::drop_remote_wake(*m_link);
            return m_state->m_done;
        }
        std::shared_ptr<detail::shared_outcome<T>> m_state;
        std::shared_ptr<detail::remote_waiter> m_link;
        event_loop* m_expected;
        detail::promise_base* m_task = nullptr;
        bool m_cancelled = false;
    };
    /// Awaits the task from a task of any loop; cancelling the waiter does not cancel the task.
    /// **Cancellation:** see the class comment: the waiter leaves at once; a pending
    /// cancellation raises without waiting.
    /// **Thread safety:** awaited from a coven task (of any loop), on its loop's thread.
    /// **Throws:** at the co_await: the task's outcome, cancelled_error, usage_error outside a
    /// coven task; std::bad_alloc (the wake-up is allocated when it parks).
    [[nodiscard]] auto async_wrap() const -> async_waiter {
        (void)state("thread_safe_future::async_wrap()");
        return async_waiter(m_state, nullptr);
    }
    /// async_wrap(), checking that `loop` is the awaiting task's loop (scarletio's spelling).
    /// **Throws:** as async_wrap(), and usage_error (at the co_await) from a task of another
    /// loop than `loop`.
    [[nodiscard]] auto async_wrap(event_loop& loop) const -> async_waiter {
        (void)state("thread_safe_future::async_wrap()");
        return async_waiter(m_state, &loop);
    }

    /// The loop that runs the task.
    [[nodiscard]] auto loop() const noexcept -> event_loop& { return *m_loop; }

private:
    friend class event_loop;
    template <class U>
    friend auto thread_safe(const future<U>& f) -> thread_safe_future<U>;
    thread_safe_future(std::shared_ptr<detail::shared_outcome<T>> s, event_loop* loop) noexcept
        : m_state(std::move(s)), m_loop(loop) {}
    auto state(const char* what) const -> detail::shared_outcome<T>& {
        if (!m_state) {
            throw usage_error(std::string("coven: ") + what +
                              " on an empty thread_safe_future (default-constructed or moved "
                              "from)");
        }
        return *m_state;
    }

    std::shared_ptr<detail::shared_outcome<T>> m_state;
    event_loop* m_loop = nullptr;
};

/// A thread_safe_future for a task of the calling thread's loop, to hand to other threads.
/// **Thread safety:** the thread that drives the task's loop; the result, from any thread.
/// **Throws:** usage_error from a thread that does not drive the task's loop while another does,
/// or for an empty future; std::bad_alloc.
template <class T>
auto thread_safe(const future<T>& f) -> thread_safe_future<T> {
    static_assert(std::is_void_v<T> || std::is_reference_v<T> || std::is_copy_constructible_v<T>,
                  "thread_safe(future) copies the value (the future keeps it too): T must be "
                  "copyable; use create_task_thread_safe() for a move-only value");
    detail::require_loop_thread(&f.promise(), "coven::thread_safe(future)");
    auto state = std::make_shared<detail::shared_outcome<T>>();
    state->m_report = false; // the future's own holders answer for its outcome
    detail::shared_outcome<T>::attach(state, f, false);
    return thread_safe_future<T>(std::move(state), detail::owning_loop(&f.promise()));
}

template <class T>
auto event_loop::create_task_thread_safe(task<T> t) -> thread_safe_future<T> {
    if (!t.valid()) {
        detail::throw_usage("create_task_thread_safe() got an empty task (moved from or already "
                            "spawned)");
    }
    auto state = std::make_shared<detail::shared_outcome<T>>();
    if (in_loop_thread()) {
        auto f = create_task(std::move(t));
        detail::shared_outcome<T>::attach(state, f, true);
        return thread_safe_future<T>(std::move(state), this);
    }
    /// Creates the task on the loop's thread. Whatever happens to the posted item (it fails, or
    /// is destroyed unrun), the outcome is filled, so that no waiter hangs.
    struct creator {
        event_loop* loop;
        std::shared_ptr<detail::shared_outcome<T>> state;
        task<T> body;
        bool ran = false;
        creator(event_loop* l, std::shared_ptr<detail::shared_outcome<T>> s, task<T> b)
            : loop(l), state(std::move(s)), body(std::move(b)) {}
        creator(creator&& o) noexcept
            : loop(o.loop), state(std::move(o.state)), body(std::move(o.body)), ran(o.ran) {
            o.ran = true; // the moved-from one has nothing to report
        }
        creator(const creator&) = delete;
        auto operator=(const creator&) -> creator& = delete;
        auto operator=(creator&&) -> creator& = delete;
        ~creator() {
            if (!ran && state) {
                state->finish([](detail::shared_outcome<T>& o) {
                    o.m_cancelled = true;
                    o.m_error = std::make_exception_ptr(cancelled_error(
                        "coven: the loop stopped before the task could be created"));
                });
            }
        }
        void operator()() {
            ran = true;
            try {
                auto f = loop->create_task(std::move(body));
                detail::shared_outcome<T>::attach(state, f, true);
                if (state->m_cancel_requested) {
                    f.cancel();
                }
            } catch (...) {
                auto e = std::current_exception();
                state->finish([&e](detail::shared_outcome<T>& o) { o.m_error = e; });
            }
        }
    };
    try {
        post_or_throw(creator(this, state, std::move(t)), "create_task_thread_safe()");
    } catch (...) {
        state->m_report = false; // nobody can reach it: the error is raised here instead
        throw;
    }
    return thread_safe_future<T>(std::move(state), this);
}

} // namespace coven
