#pragma once
// coven::coro_start<T>: asynkit's CoroStart (K6), a coroutine started at once and run until it
// first waits, to be awaited, thrown into or closed later; and coro_await(), which awaits a
// coroutine run in a given context (K7).

#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/interrupt.hpp>
#include <coven/task.hpp>
#include <coven/task_local.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace coven {

/// A coroutine started at once, in the caller's turn, and run until it first suspends, returns
/// or throws (K6): then the caller goes on. done() says whether it finished in that first run;
/// `co_await` gets the result, waiting for the rest if it did not.
///
/// asynkit runs a CoroStart inside the awaiting task; in coven the coroutine is a task of the
/// calling thread's loop from the start (as eager() makes), so it also runs on while nobody
/// awaits it and as_future() is always available. The throw and close operations raise an
/// exception in it at the point where it waits (task_interrupt()); they do not reach what it
/// awaits.
///
/// **Cancellation:** cancelling a task that awaits it cancels it (it is awaited as a future,
/// with future's rules: an outcome that arrives anyway is returned and the cancellation stays
/// pending). So do athrow() and aclose(), which await it too.
/// **Thread safety:** the loop's thread only, like a future. throw_exception(), athrow(), close()
/// and aclose() also refuse the coroutine's own task (it cannot interrupt itself).
/// **Throws:** `co_await` rethrows what it ended with (cancelled_error if cancelled), as
/// future's; usage_error as future's co_await does.
/// **Example:**
/// ```
/// coven::coro_start<reply> call(send_request());  // the request is on its way
/// if (!call.done()) prepare_view();
/// auto r = co_await std::move(call);
/// ```
template <class T>
class coro_start {
public:
    /// Starts `t` now (asynkit's `CoroStart(coro)`).
    /// **Throws:** usage_error outside a loop's thread.
    explicit coro_start(task<T> t) : m_future(start(std::move(t), nullptr)) {}
    /// Starts `t` now, bound to `ctx`: its task_local values are the context's, and what it sets
    /// lands there (asynkit's `CoroStart(coro, context=ctx)`).
    /// **Throws:** usage_error outside a loop's thread, or if `ctx` is in use.
    coro_start(task<T> t, const context& ctx) : m_future(start(std::move(t), &ctx)) {}

    /// True once the coroutine has ended (in its first run, or since).
    [[nodiscard]] auto done() const -> bool { return m_future.done(); }
    /// Its value, or rethrows the exception it ended with (cancelled_error if cancelled).
    /// **Throws:** not_ready_error if it has not ended: co_await it instead.
    auto result() const -> std::add_lvalue_reference_t<T> {
        require_done("result()");
        return m_future.result();
    }
    /// The exception it ended with (a cancelled_error if it was cancelled), or null.
    /// **Throws:** not_ready_error if it has not ended.
    [[nodiscard]] auto exception() const -> std::exception_ptr {
        require_done("exception()");
        if (m_future.cancelled()) {
            return std::make_exception_ptr(cancelled_error());
        }
        return m_future.exception();
    }

    /// Waits for the rest (nothing to wait for when done()) and gives its result.
    auto operator co_await() const& { return m_future.operator co_await(); }
    auto operator co_await() && { return std::move(m_future).operator co_await(); }
    /// The future of its task (asynkit's as_future() and as_awaitable(); available even before
    /// it is done, since it is a task from the start).
    [[nodiscard]] auto as_future() const -> future<T> { return m_future; }
    /// A task that awaits it (asynkit's as_coroutine()).
    [[nodiscard]] auto as_task() const -> task<T> { return await_future(m_future); }

    /// Raises `e` in the coroutine where it waits and lets it run at once (asynkit's throw()).
    /// Returns if it then returned or ended cancelled (by `e` itself when `e` derives from
    /// cancelled_error); rethrows any other failure it ended with. Once it is done, nothing is
    /// thrown in: a failure it ended with is rethrown.
    /// **Throws:** usage_error if it did not end at once: it caught `e` and waited again (use
    /// athrow() to wait for it), or `e` is still pending (a shield holds it back, or the
    /// coroutine runs further up the stack): `e` is then raised at its next await.
    void throw_exception(std::exception_ptr e) {
        if (!done()) {
            task_interrupt(m_future, std::move(e));
            require_ended_at_once("throw_exception()");
        }
        rethrow_failure();
    }
    /// throw_exception() with an exception object.
    // clang-format off
    template <class E>
        requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>)
    void throw_exception(E&& exc) {
        // clang-format on
        throw_exception(std::make_exception_ptr(std::forward<E>(exc)));
    }
    /// Raises `e` in the coroutine where it waits, then waits for its end and gives its result
    /// (asynkit's athrow()). Once it is done, only gives the result.
    /// **Throws:** usage_error (at the call) from the coroutine's own task or off the loop's
    /// thread; at the co_await, what it ended with.
    [[nodiscard]] auto athrow(std::exception_ptr e) -> task<T> {
        if (!done()) {
            task_interrupt(m_future, std::move(e));
        }
        return await_future(m_future);
    }

    /// Ends the coroutine: raises cancelled_error in it where it waits and lets it unwind at once
    /// (asynkit's close(), which throws GeneratorExit). Once it is done, nothing is thrown in: a
    /// failure it ended with is rethrown.
    /// **Throws:** usage_error if it did not end at once (it awaited during its cleanup: use
    /// aclose()); what it ended with, if that is a failure rather than the cancellation.
    void close() {
        if (!done()) {
            task_interrupt(m_future, closing());
            require_ended_at_once("close()");
        }
        rethrow_failure();
    }
    /// Ends the coroutine and waits for its cleanup (asynkit's aclose()): `co_await c.aclose();`.
    /// **Throws:** usage_error (at the call) from the coroutine's own task or off the loop's
    /// thread; at the co_await, what it ended with, if that is a failure rather than the
    /// cancellation, and cancelled_error if the awaiting task is cancelled first.
    [[nodiscard]] auto aclose() -> task<void> {
        if (!done()) {
            task_interrupt(m_future, closing());
        }
        return close_wait(m_future);
    }

private:
    static auto start(task<T> t, const context* ctx) -> future<T> {
        event_loop* loop = current_loop();
        if (loop == nullptr) {
            detail::throw_usage("coven::coro_start outside a loop's thread; make it in a task "
                                "(or use await_sync() to run a coroutine with no loop)");
        }
        if (ctx == nullptr) {
            return loop->create_task_eager(std::move(t));
        }
        future<T> f = detail::spawn_unqueued(*loop, std::move(t));
        try {
            detail::bind_context(&f.promise(), ctx->state());
        } catch (...) { // it never runs: it ends cancelled in its first turn
            detail::cancel_root(&f.promise());
            detail::queue_root(&f.promise());
            throw;
        }
        detail::start_now(&f.promise());
        return f;
    }
    static auto closing() -> std::exception_ptr {
        return std::make_exception_ptr(cancelled_error("coven: closed by coro_start::close()"));
    }
    static auto await_future(future<T> f) -> task<T> { co_return co_await std::move(f); }
    static auto close_wait(future<T> f) -> task<void> {
        co_await f.wait();
        if (!f.cancelled()) {
            f.result(); // a failure is rethrown; a value is dropped, as close() drops it
        }
    }
    void require_done(const char* what) const {
        if (!done()) {
            throw not_ready_error(std::string("coven: coro_start::") + what +
                                  " before the coroutine ended; co_await it (or check done())");
        }
    }
    void require_ended_at_once(const char* what) const {
        if (!done()) {
            throw usage_error(std::string("coven: coro_start::") + what +
                              ": the coroutine did not end at once (it caught the exception and "
                              "waited again, or a shield holds it back); co_await athrow() or "
                              "aclose() to wait for its end");
        }
    }
    /// After close()/throw_exception(): a failure it ended with propagates; a cancellation (what
    /// close() raises) or a value does not.
    void rethrow_failure() const {
        if (!m_future.cancelled()) {
            m_future.result();
        }
    }

    future<T> m_future;
};

/// Awaits `t` run in the context `ctx` (asynkit's `coro_await(coro, context=ctx)`, K7): `t`
/// reads the context's task_local values and what it sets lands there, not in the caller's.
/// `t` runs as a task of its own, started at once (coro_start); cancelling the caller cancels
/// it. An interrupt of the caller (task_interrupt()) does not reach it: `t` runs on, and `ctx`
/// stays in use until `t` ends (asynkit runs `t` inline, so there the interrupt reaches it).
/// **Cancellation:** as `co_await future`: cancelling the caller cancels `t`, and the await
/// raises cancelled_error once `t` has ended (an outcome it ended with anyway is returned).
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** usage_error if `ctx` is in use, or off a loop's thread; what `t` throws;
/// std::bad_alloc.
/// **Example:** see coven::context.
template <class T>
auto coro_await(task<T> t, context ctx) -> task<T> {
    coro_start<T> started(std::move(t), ctx);
    co_return co_await std::move(started);
}

} // namespace coven
