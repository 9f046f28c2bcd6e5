#pragma once
// coven::run() and the default loop (S2, S3, S4).

#include <coven/event_loop.hpp>
#include <coven/task.hpp>

#include <type_traits>
#include <utility>

namespace coven {

/// The default loop, started on its own background thread if it is not running (S3, S4): the
/// caller keeps its thread and talks to the loop through run(), stop() and
/// call_soon_threadsafe(). After `stop()`, the next call starts it again. Its options come from
/// set_default_loop_options(), or from the environment: `COVEN_CLOCK=virtual` selects the
/// virtual clock. A thread that takes the running loop this way holds it: a coven::run() that
/// started it no longer stops it, and that thread should stop() it.
/// **Thread safety:** any thread (serialised by a mutex). From a task of the default loop while
/// it stops, it returns that same loop.
/// **Throws:** what event_loop's constructor and start() throw (usage_error, coven::error,
/// std::system_error, std::bad_alloc).
auto get_or_create_event_loop() -> event_loop&;

/// Options for the default loop from its next (re)start on (and for this_thread_loop()).
/// **Thread safety:** any thread.
void set_default_loop_options(loop_options options);

/// The calling thread's own loop, for synchronous code that blocks on async work (T5:
/// async_scope's blocking form, delayed_result::block()). Unlike the default loop it has no
/// thread of its own: work scheduled on it waits until the thread blocks, and then the thread
/// drives it, so the order of a synchronous program stays deterministic (also on the virtual
/// clock). Made on first use with the default loop's options of that moment (later changes do
/// not reach it), destroyed when the thread exits.
/// **Thread safety:** the calling thread's own.
/// **Throws:** on first use, what event_loop's constructor throws.
auto this_thread_loop() -> event_loop&;

namespace detail {
auto default_loop_running() -> bool;
/// coven::run()'s hold on the default loop: the first run() that finds it stopped starts it,
/// and the last run() of those inside it stops it then.
auto enter_default_run() -> event_loop&;
void leave_default_run(event_loop& loop) noexcept;
} // namespace detail

/// Runs `t` to completion on the default loop and returns its value or rethrows (S2). If the
/// default loop was not running, it is started for this call and stopped afterwards: once every
/// run() that is inside it at that moment has returned, so that threads may call run() at the
/// same time, each getting its own task's outcome.
/// **Cancellation:** not an awaitable; a stop() of the default loop by another thread cancels
/// the task, and run() then throws cancelled_error.
/// **Thread safety:** any thread, several at once, but not from a task of the default loop.
/// Called from a task of another loop, it blocks that loop's thread until `t` ends.
/// **Throws:** what the task throws; usage_error from a task of the default loop (co_await
/// instead); what get_or_create_event_loop() throws when it has to start the loop;
/// std::bad_alloc.
/// **Example:** `int main() { coven::run(amain()); }`
template <class T>
auto run(task<T> t) -> T {
    event_loop& loop = detail::enter_default_run();
    struct leaver {
        event_loop& loop;
        ~leaver() { detail::leave_default_run(loop); }
    } leave{loop};
    return loop.run(std::move(t));
}

} // namespace coven
