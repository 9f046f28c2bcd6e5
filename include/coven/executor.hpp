#pragma once
// run_in_executor() and enter_executor(): a task awaits a blocking call that runs on a
// thread_pool, and its loop runs on meanwhile (S14, R10).

#include <coven/detail/promise_base.hpp>
#include <coven/task.hpp>
#include <coven/thread_pool.hpp>

#include <concepts>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {

/// Waits while the worker still touches the task's loop (src/thread_pool.cpp).
void wait_until_posted(const pool_job& job) noexcept;
/// The awaiting task stops waiting for `job` (cancelled, or its frame destroyed): a queued job
/// will never run; a running one runs on unobserved. True if the job had already finished, so
/// that its result can still be taken.
auto detach_job(pool_job& job) noexcept -> bool;
/// Cancels `job` if it is still queued (it never runs then); false if it runs or ran.
auto cancel_if_queued(pool_job& job) noexcept -> bool;

/// A call and the slot for its value.
template <class R, class F>
struct call_job final : pool_job {
    explicit call_job(F fn) : m_fn(std::move(fn)) {}
    void execute() noexcept override {
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(m_fn);
                m_value.emplace(true);
            } else {
                m_value.emplace(std::invoke(m_fn));
            }
        } catch (...) {
            m_error = std::current_exception();
        }
    }
    auto take() -> R {
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        if constexpr (!std::is_void_v<R>) {
            return std::move(*m_value);
        }
    }
    F m_fn;
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> m_value;
    std::exception_ptr m_error;
};

/// Parks the task while its job runs on a pool. `wait_out`: a cancel that finds the call
/// running leaves the task parked until the call returns (enter_executor(), whose block may
/// touch the task's frame); otherwise the running call is abandoned.
template <class R, class F>
class executor_awaiter : private waiter {
public:
    executor_awaiter(thread_pool& pool, std::shared_ptr<call_job<R, F>> job, bool wait_out) noexcept
        : m_pool(&pool), m_job(std::move(job)), m_wait_out(wait_out) {}
    executor_awaiter(const executor_awaiter&) = delete;
    auto operator=(const executor_awaiter&) -> executor_awaiter& = delete;
    ~executor_awaiter() {
        if (m_job && m_job->m_task != nullptr) { // a frame destroyed while waiting (teardown)
            (void)detach_job(*m_job);
            count_foreign_wait(m_task, -1);
        }
    }

    [[nodiscard]] auto await_ready() const noexcept -> bool { return false; }
    auto await_suspend(std::coroutine_handle<> h) -> bool {
        m_task = require_current_task("co_await run_in_executor()");
        if (cancel_pending(m_task)) {
            m_cancelled = true; // the call never starts
            return false;
        }
        m_job->m_loop = m_task->m_loop;
        m_on_cancel = [](waiter* w, promise_base* task) noexcept {
            auto* self = static_cast<executor_awaiter*>(w);
            bool finished = false;
            if (self->m_wait_out) {
                if (!cancel_if_queued(*self->m_job)) {
                    return cancel_result::stays_parked; // it runs: its completion wakes us
                }
            } else {
                finished = detach_job(*self->m_job); // a finished call is handed over
            }
            count_foreign_wait(task, -1);
            self->m_cancelled = !finished;
            wake(task);
            return cancel_result::unlinked;
        };
        m_pool->submit(m_job); // may throw (pool shut down): the task is not parked yet
        m_job->m_task = m_task;
        count_foreign_wait(m_task, +1);
        park(m_task, this, h);
        return true;
    }
    auto await_resume() -> R {
        if (m_cancelled) {
            throw_cancelled(m_task);
        }
        return m_job->take();
    }

private:
    thread_pool* m_pool;
    std::shared_ptr<call_job<R, F>> m_job;
    promise_base* m_task = nullptr;
    bool m_wait_out;
    bool m_cancelled = false;
};

/// The task of one call: `fn(args...)` as a job that owns both.
template <class R, class F, class... Args>
auto executor_call(thread_pool& pool, bool wait_out, F fn, Args... args) -> task<R> {
    auto call = [fn = std::move(fn), ... args = std::move(args)]() mutable -> R {
        // The arguments go in as rvalues, as std::thread passes them: a parameter taken by
        // non-const reference would only change the job's copy, and does not compile.
        return std::invoke(fn, std::move(args)...);
    };
    auto job = std::make_shared<call_job<R, decltype(call)>>(std::move(call));
    co_return co_await executor_awaiter<R, decltype(call)>(pool, std::move(job), wait_out);
}

template <class F, class... Args>
using call_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>>;

// clang-format 14 mangles constraints:
// clang-format off
/// What a pool runs: `fn(std::move(args)...)` on the decayed copies the job owns.
template <class F, class... Args>
concept pool_callable = std::invocable<std::decay_t<F>&, std::decay_t<Args>&&...>;
/// A pool passed where a callable may stand (overload selection).
template <class F>
concept is_pool = std::same_as<std::remove_cvref_t<F>, thread_pool>;
// clang-format on

} // namespace detail

/// Runs `fn(args...)` on a worker of `pool` and waits for its value or exception, while the loop
/// runs other tasks (S14; asyncio's `loop.run_in_executor`). `fn` and `args` are moved into the
/// job: the call owns everything it uses. The result is a task, so it can be awaited, spawned
/// into a scope (R10: `scope << run_in_executor(fetch_url)`) or made a root task.
/// **Cancellation:** a call still queued is dropped and never runs. A call that already runs
/// cannot be stopped: the awaiter raises cancelled_error at once, the call runs on in its
/// thread, and its result is dropped. Mind its side effects. A call that had finished but whose
/// result had not reached the task yet hands the result over: the await returns it, and the
/// cancellation stays pending for the task's next await. An await with a cancellation already
/// pending raises without queueing the call. Nothing runs before the task is first awaited (its
/// job is queued then).
/// **Thread safety:** awaited from a coven task, on its loop's thread; `fn` runs on a worker. The
/// job (`fn`, `args`, the result) is destroyed by whichever thread lets go of it last: capture
/// nothing that must die on the loop's thread, such as a coven::future.
/// **Throws:** what `fn` throws; usage_error if the pool was shut down, or when awaited outside
/// a coven task; cancelled_error; std::bad_alloc.
/// **g++ 12:** a lambda written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name it first, or pass the data as
/// `args` (docs/compilers.md).
/// **Example:** `auto text = co_await coven::run_in_executor(pool, read_file, path);`
// clang-format 14 mangles constraints:
// clang-format off
template <class F, class... Args>
auto run_in_executor(thread_pool& pool, F fn, Args... args) {
    static_assert(detail::pool_callable<F, Args...>,
                  "run_in_executor(fn, args...) calls fn with copies of args, as std::thread "
                  "does: a parameter taken by non-const reference would change a copy. Pass "
                  "std::ref(x) to share x, or take the parameter by value or const reference");
    if constexpr (detail::pool_callable<F, Args...>) {
        return detail::executor_call<detail::call_result_t<F, Args...>>(pool, false, std::move(fn),
                                                                        std::move(args)...);
    }
}

/// run_in_executor() on default_thread_pool().
template <class F, class... Args>
    requires(!detail::is_pool<F>)
auto run_in_executor(F fn, Args... args) {
    return run_in_executor(default_thread_pool(), std::move(fn), std::move(args)...);
}

/// scarletio's `async with enter_executor():` block: `block()` runs on a worker thread of `pool`
/// while the task waits, then the task goes on on its loop's thread. The block may capture the
/// task's locals by reference: the task stays suspended until the block has returned, even when
/// it is cancelled meanwhile (a block that has not started yet is dropped; one that runs is
/// waited for, and the cancellation is raised by the task's next await, or, if the task returns
/// first, the task ends cancelled: docs/cancellation.md). Loop stop waits for a running block
/// too.
/// **Cancellation:** a block still queued is dropped and the await raises cancelled_error; a
/// running block is waited for, its result (or exception) is returned, and the cancellation
/// stays pending for the task's next await. An await with a cancellation already pending raises
/// without queueing the block.
/// **Thread safety:** awaited from a coven task, on its loop's thread; `block` runs on a worker.
/// **Throws:** what `block` throws; usage_error if the pool was shut down, or when awaited
/// outside a coven task; cancelled_error; std::bad_alloc.
/// **g++ 12:** a block written inside the `co_await` expression must not capture by value
/// anything with a destructor (the compiler frees it twice): name such a block first, or capture
/// by reference (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::enter_executor([&] { result = blocking_parse(text); });
/// ```
template <class F>
    requires(detail::pool_callable<F>)
auto enter_executor(thread_pool& pool, F block) -> task<detail::call_result_t<F>> {
    return detail::executor_call<detail::call_result_t<F>>(pool, true, std::move(block));
}

/// enter_executor() on default_thread_pool().
template <class F>
    requires(!detail::is_pool<F> && detail::pool_callable<F>)
auto enter_executor(F block) -> task<detail::call_result_t<F>> {
    return enter_executor(default_thread_pool(), std::move(block));
}
// clang-format on

} // namespace coven
