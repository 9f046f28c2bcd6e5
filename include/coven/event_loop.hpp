#pragma once
// coven::event_loop: one loop, driven by one thread at a time (S3, S4, S5).

#include <coven/any_future.hpp>
#include <coven/detail/kernel.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace coven {

/// Where a loop reads time from.
enum class clock_kind {
    real,         ///< std::chrono::steady_clock
    virtual_time, ///< starts at 0 and moves only by autojump or event_loop::advance() (B3)
};

/// How a loop picks the next ready task.
enum class scheduling_policy {
    fifo,     ///< in the order tasks became ready (asyncio's, and the default)
    priority, ///< most urgent priority first, FIFO among equals (asynkit's priority loop, K19)
};

/// The I/O engine under a loop (src/io/backend.hpp).
enum class io_engine : std::uint8_t {
    automatic, ///< what the COVEN_IO environment variable names, else epoll
    epoll,     ///< epoll(7): readiness, on every Linux
    /// io_uring(7), Linux 5.13 or later (first stage: readiness through poll requests in the
    /// ring, docs/net.md). The loop's constructor throws coven::error saying why when the
    /// kernel or the sandbox refuses it.
    io_uring,
};

/// Options of an event_loop; use designated initializers:
/// `coven::event_loop loop({.clock = coven::clock_kind::virtual_time});`
struct loop_options {
    clock_kind clock = clock_kind::real;
    /// With the virtual clock: when every task waits, jump to the next timer's deadline at
    /// once. Off: time moves only through event_loop::advance().
    bool autojump = true;
    /// Starvation guard: while tasks keep each other ready (for example by yielding forever), the
    /// loop still polls I/O after this many task runs, so a server stays responsive. 0 turns the
    /// guard off: the ready queue then always drains completely before I/O is polled.
    std::uint32_t io_poll_interval = 4096;
    /// fifo, or priority: the ready queue honours task priorities (K19, set_priority()).
    scheduling_policy scheduling = scheduling_policy::fifo;
    /// Priority loops only: a task that waited in the ready queue through a whole maintenance
    /// round (about one queue length of turns) while more urgent tasks ran is moved up to the
    /// most urgent level queued, so low priorities are never starved (K23).
    bool boost_starved = true;
    /// The I/O engine. automatic: the one COVEN_IO names (epoll, io_uring, or auto: io_uring
    /// where the kernel allows it, else epoll; epoll if unset). The constructor throws
    /// usage_error for a COVEN_IO it does not know, coven::error when io_uring is asked for and
    /// the kernel or sandbox refuses it (docs/net.md#engines-epoll-and-io_uring).
    io_engine io = io_engine::automatic;
    /// stop(): how long (on the loop's clock) the tasks left may take to end once they are
    /// cancelled. Those still running then are named on stderr and dropped: destroyed where they
    /// wait, as abort() does, and their futures find them ended cancelled. The default waits as
    /// long as they take. Any std::chrono duration, or seconds as a double.
    saturating_duration stop_grace{};
    /// stop(): after waiting this long (loop clock) for tasks to end, one line per task still
    /// running goes to stderr (its name and what it is doing), so that a stop never hangs in
    /// silence. A duration past the clock's range never reports.
    saturating_duration stop_report_after = std::chrono::seconds(1);
};

/// Counters of one loop; event_loop::statistics().
struct loop_statistics {
    std::uint64_t tasks_spawned = 0; ///< create_task() calls
    std::uint64_t live_tasks = 0;    ///< root tasks not yet ended
    std::uint64_t task_runs = 0;     ///< turns given to tasks (yields_in_place included)
    /// skip_ready_cycle() calls that found no other task ready and went on at once: the turn
    /// the loop would have given back, without the trip through the ready queue.
    std::uint64_t yields_in_place = 0;
    std::uint64_t polls = 0;        ///< I/O polls (epoll_wait, io_uring_enter)
    std::uint64_t forced_polls = 0; ///< polls made by the starvation guard
    std::uint64_t timers = 0;       ///< timers armed now
    std::uint64_t boosted = 0;      ///< priority loops: ready tasks moved up for waiting long
};

namespace detail {

/// call_pos()'s body: a task that calls `fn`.
template <class F>
auto call_fn(F fn) -> task<void> {
    fn();
    co_return;
}

/// Where a thread blocked in event_loop::run() receives the task's outcome.
template <class T>
class blocking_slot {
public:
    void fill(future<T>& f) noexcept {
        {
            std::lock_guard lock(m_mutex);
            try {
                if constexpr (std::is_void_v<T>) {
                    f.result();
                } else if constexpr (std::is_reference_v<T>) {
                    m_value = &f.result();
                } else {
                    m_value.emplace(std::move(f.result()));
                }
            } catch (...) {
                m_error = std::current_exception();
            }
            m_done = true;
            // Notified under the lock: the waiter may return and destroy the slot as soon as
            // it can see m_done.
            m_cv.notify_one();
        }
    }
    auto wait() -> T {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done; });
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        if constexpr (std::is_reference_v<T>) {
            return *m_value;
        } else if constexpr (!std::is_void_v<T>) {
            return std::move(*m_value);
        }
    }

private:
    using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*,
                                      std::conditional_t<std::is_void_v<T>, bool, T>>;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
    std::optional<stored> m_value;
    std::exception_ptr m_error;
};

} // namespace detail

template <class T>
class thread_safe_future;

namespace detail {
template <class T>
auto spawn_unqueued(event_loop& loop, task<T> t) -> future<T>;
} // namespace detail

/// An event loop: a ready queue of tasks, a timing wheel, an epoll poller and a cross-thread
/// submission queue. Exactly one thread drives it at a time: its own background thread (start(),
/// as get_or_create_event_loop() does), or a caller of run_until_complete().
///
/// **Thread safety:** run(), stop(), call_soon_threadsafe(), now(), time(), advance() and
/// statistics() may be called from any thread; create_task() and everything tasks do belongs to
/// the loop's thread. "The loop's thread" is the thread that drives it, or, while no thread
/// drives it and it has no background thread, any thread (a caller preparing work it will then
/// drive).
/// **Cancellation:** no member is an awaitable. stop() cancels every task that is left (see
/// docs/cancellation.md).
class event_loop {
public:
    using clock = std::chrono::steady_clock;
    using duration = std::chrono::nanoseconds;
    using time_point = clock::time_point;

    /// A loop that nobody drives yet: start() it, or drive it with run_until_complete().
    /// **Thread safety:** any thread.
    /// **Throws:** usage_error if COVEN_IO names an I/O engine this build does not have;
    /// coven::error if the engine's descriptors (epoll, eventfd) cannot be made; std::bad_alloc.
    explicit event_loop(loop_options options = {});
    /// Stops the loop (see stop()) and joins its background thread.
    /// **Thread safety:** a thread other than the loop's (it joins the loop's thread), and not
    /// while another thread drives the loop with run_until_complete().
    ~event_loop();
    event_loop(const event_loop&) = delete;
    auto operator=(const event_loop&) -> event_loop& = delete;

    /// Schedules `t` as a root task (S5): it gets its first turn after the tasks already ready.
    /// The task inherits the caller's task-local values (coven/task_local.hpp). On a loop that
    /// nobody runs (not started yet, or stopped) the task waits for the next run, as on a new
    /// loop; a loop destroyed first ends it cancelled without running it.
    /// **Thread safety:** the loop's thread, or any thread while nobody drives the loop and it
    /// has no background thread.
    /// **Throws:** usage_error off the loop's thread (post with call_soon_threadsafe instead),
    /// or for an empty task or one that was already awaited; std::bad_alloc. `t` is destroyed
    /// when it throws.
    template <class T>
    auto create_task(task<T> t) -> future<T> {
        return spawn(std::move(t), true);
    }
    /// create_task() with a name (future::name(); an empty name leaves it unnamed).
    /// **Throws:** as create_task(); std::bad_alloc for the name, after which the task is left
    /// scheduled (it runs, unnamed).
    template <class T>
    auto create_task(task<T> t, std::string name) -> future<T> {
        return spawn_named(std::move(t), std::move(name), true);
    }

    /// Schedules `t` as a root task from any thread (S15) and returns a handle that any thread
    /// may wait for (defined in <coven/thread_safe_future.hpp>, which callers include). If the
    /// loop stops before the task is made, waiters get cancelled_error.
    /// **Thread safety:** any thread.
    /// **Throws:** usage_error if the loop has stopped and nobody runs it (it is closed to other
    /// threads until it runs again), or for an empty task; std::bad_alloc.
    template <class T>
    auto create_task_thread_safe(task<T> t) -> thread_safe_future<T>;

    /// create_task(), but the task starts at once, inside this call, and runs until it first
    /// suspends; then the caller goes on (asynkit's create_task_descend, K15: depth-first). A
    /// task that finishes without suspending is done on return. Off the loop's thread the first
    /// turn is queued as usual.
    /// **Thread safety:** as create_task().
    /// **Throws:** usage_error off the loop's thread while another thread drives it, or for an
    /// empty or already awaited task; std::bad_alloc. What the task throws stays in its future.
    template <class T>
    auto create_task_eager(task<T> t) -> future<T> {
        auto f = spawn(std::move(t), false);
        detail::start_now(&f.promise());
        return f;
    }
    /// create_task_eager() with a name.
    template <class T>
    auto create_task_eager(task<T> t, std::string name) -> future<T> {
        auto f = spawn_named(std::move(t), std::move(name), false);
        detail::start_now(&f.promise());
        return f;
    }

    /// Runs `t` to completion and returns its value or rethrows its exception; the loop stays
    /// alive afterwards (S3). With a background thread (start()), blocks the caller until the
    /// task ends; otherwise drives the loop on the calling thread, like run_until_complete().
    /// **Thread safety:** any thread but the loop's own (it would deadlock); on a loop without a
    /// background thread, as run_until_complete().
    /// **Throws:** what the task throws; usage_error when called from the loop's own thread
    /// (co_await the task instead), or when the loop has stopped; cancelled_error when stop()
    /// cancelled the task; std::bad_alloc.
    template <class T>
    auto run(task<T> t) -> T {
        check_not_loop_thread("event_loop::run()");
        if (!detail::has_background_thread(*m_state)) {
            return run_until_complete(std::move(t));
        }
        detail::blocking_slot<T> slot;
        auto* item = new detail::remote_fn([this, &slot, t = std::move(t)]() mutable {
            auto f = create_task(std::move(t));
            f.add_done_callback([&slot](future<T>& done) { slot.fill(done); });
        });
        if (!detail::post(*m_state, item)) {
            delete item;
            detail::throw_closed_to_threads("event_loop::run()");
        }
        return slot.wait();
    }

    /// Drives the loop on the calling thread until `t` ends; other tasks stay scheduled. A stop()
    /// requested meanwhile is acted on by this run: its task is cancelled (or, if it ended first,
    /// the rest is cancelled as the run ends).
    /// **Thread safety:** any thread, while no other thread drives the loop and it has no
    /// background thread.
    /// **Throws:** what the task throws, cancelled_error if it was cancelled; usage_error from
    /// the loop's own thread, on a loop with a background thread, if another thread drives the
    /// loop, or from a task; std::bad_alloc.
    template <class T>
    auto run_until_complete(task<T> t) -> T {
        detail::drive_guard guard(*m_state);
        auto f = create_task(std::move(t));
        detail::drive_until_done(*m_state, &f.promise());
        return detail::take_outcome(f);
    }

    /// Starts a background thread that drives the loop until stop() (S4). No-op if running.
    /// **Thread safety:** any thread (serialised with stop()).
    /// **Throws:** usage_error if another thread drives the loop; std::system_error if the thread
    /// cannot be started.
    void start();
    /// Cancels every task that is left, lets them unwind (they may await during cleanup), runs
    /// what other threads posted, and ends the background thread. From another thread it returns
    /// once all that is done; from the loop's own thread it only requests it. A stopped loop can
    /// be started or driven again. On a loop that run_until_complete() drives on another
    /// thread, it only requests the stop, and that run acts on it.
    /// **Thread safety:** any thread.
    void stop();

    /// Runs `fn()` on the loop's thread, soon (S15's building block). What `fn` throws goes to
    /// the loop's exception handler (set_exception_handler()). Work posted while the loop stops
    /// runs inside stop().
    /// **Thread safety:** any thread, the loop's own included.
    /// **Throws:** usage_error if the loop has stopped and nobody runs it; std::bad_alloc (`fn` is
    /// then destroyed).
    template <class F>
    void call_soon_threadsafe(F fn) {
        post_or_throw(std::move(fn), "call_soon_threadsafe()");
    }

    // --- the ready queue (asynkit's SchedulingMixin, K17); the loop's thread only ---

    /// How many tasks are ready to run.
    /// **Throws:** usage_error off the loop's thread.
    [[nodiscard]] auto queue_len() -> std::size_t { return detail::ready_len(*m_state); }
    /// The first ready task, in run order, for which `key(any_future)` is true; empty if none.
    /// With `remove`, the task also leaves the queue: it then waits, blocked, until
    /// queue_insert_pos() or task_reinsert() puts it back. A cancel (or an interrupt) puts it
    /// back at once, and so does one that is already pending, so that it can raise.
    /// **Throws:** usage_error off the loop's thread.
    template <class Key>
    auto queue_find(Key key, bool remove = false) -> any_future {
        return detail::find_ready(
            *m_state,
            [](void* ctx, const any_future& t) -> bool { return (*static_cast<Key*>(ctx))(t); },
            &key, remove);
    }
    /// Puts a ready task (or one queue_find() removed) at place `pos` of the ready queue.
    /// **Throws:** usage_error if the task is blocked, running or ended, or off the thread.
    void queue_insert_pos(std::size_t pos, const any_future& task) {
        detail::insert_ready(*m_state, pos, task, "event_loop::queue_insert_pos()");
    }
    /// Schedules `fn()` to run at place `pos` of the ready queue, as a task of its own; its
    /// future ends when `fn` has returned (or with what it threw).
    /// **Throws:** usage_error off the loop's thread; std::bad_alloc.
    template <class F>
    auto call_pos(std::size_t pos, F fn) -> future<void> {
        detail::check_queue_thread(*m_state, "event_loop::call_pos()");
        auto f = create_task(detail::call_fn(std::move(fn)));
        queue_insert_pos(pos, f);
        return f;
    }

    /// True while some thread drives the loop. **Thread safety:** any thread.
    [[nodiscard]] auto is_running() const noexcept -> bool;
    /// True when called from the thread driving the loop. **Thread safety:** any thread.
    [[nodiscard]] auto in_loop_thread() const noexcept -> bool;
    /// The loop's current time (virtual clocks start at time_point{}).
    /// **Thread safety:** any thread.
    [[nodiscard]] auto now() const noexcept -> time_point;
    /// Seconds since the loop's clock origin, like scarletio's `loop.time()`.
    [[nodiscard]] auto time() const noexcept -> double;
    /// Moves a virtual clock forward by `d` and fires what is due. Any thread; an autojump
    /// racing it never overwrites it. Past the end of the clock's range the clock stays there.
    /// **Throws:** usage_error on a real clock, or for a negative or NaN duration.
    template <class Rep, class Period>
    void advance(std::chrono::duration<Rep, Period> d) {
        if (d < d.zero()) {
            detail::throw_usage("event_loop::advance() with a negative duration; time only moves "
                                "forward");
        }
        advance_by(detail::to_loop_duration(d, "event_loop::advance()"));
    }
    /// advance() in seconds.
    void advance(double seconds) { advance(std::chrono::duration<double>(seconds)); }
    /// Counters of this loop. **Thread safety:** any thread; each counter is read atomically,
    /// but they are read one by one, not as one snapshot.
    [[nodiscard]] auto statistics() const -> loop_statistics;
    /// The I/O engine this loop got: "epoll" or "io_uring" (loop_options::io).
    /// **Thread safety:** any thread.
    [[nodiscard]] auto io_engine_name() const noexcept -> const char*;
    /// Why this loop is on epoll although io_uring was wanted (COVEN_IO=auto on a kernel or in
    /// a sandbox that refuses io_uring: ENOSYS, EPERM, ENOMEM); empty when it got what was
    /// asked for. **Thread safety:** any thread.
    [[nodiscard]] auto io_fallback_reason() const -> std::string;
    /// The options it was made with. **Thread safety:** any thread.
    [[nodiscard]] auto options() const noexcept -> const loop_options&;
    /// Receives exceptions that escape done-callbacks (and call_soon_threadsafe() callbacks),
    /// called on the loop's thread. Default: print to stderr.
    /// **Thread safety:** the loop's thread, or while no thread drives it (not synchronised).
    void set_exception_handler(std::function<void(std::exception_ptr)> handler);

private:
    /// call_soon_threadsafe()'s work; `what` names the call the user made in the error.
    template <class F>
    void post_or_throw(F fn, const char* what) {
        auto* item = new detail::remote_fn<F>(std::move(fn));
        if (!detail::post(*m_state, item)) {
            delete item;
            detail::throw_closed_to_threads(what);
        }
    }
    friend class task_scope;
    friend auto detail::loop_state_of(event_loop& loop) noexcept -> detail::loop_state&;
    template <class T>
    friend auto detail::spawn_unqueued(event_loop& loop, task<T> t) -> future<T>;
    /// create_task() whose first turn waits for detail::start_now() or queue_root() (eager
    /// spawns); the caller must do one of the two.
    template <class T>
    auto create_task_unqueued(task<T> t) -> future<T> {
        return spawn(std::move(t), false);
    }
    template <class T>
    auto create_task_unqueued(task<T> t, std::string name) -> future<T> {
        return spawn_named(std::move(t), std::move(name), false);
    }
    /// The unnamed spawn, kept free of any std::string: building, moving and destroying an
    /// empty name cost a spawn about 40 instructions (a tenth of spawn_join's).
    template <class T>
    auto spawn(task<T> t, bool queue) -> future<T> {
        if (!t.valid()) {
            detail::throw_usage("create_task() got an empty task (moved from or already spawned)");
        }
        auto h = t.release();
        if (h.promise().has(detail::promise_base::f_awaited)) [[unlikely]] {
            h.destroy();
            detail::throw_usage("create_task() got a task that was already awaited; a task<T> "
                                "runs once: spawn it instead of awaiting it, or make a new one");
        }
        h.promise().m_resume = h;
        detail::spawn_root(*m_state, &h.promise(), queue); // destroys h if it throws
        return future<T>(&h.promise());
    }
    template <class T>
    auto spawn_named(task<T> t, std::string name, bool queue) -> future<T> {
        future<T> f = spawn(std::move(t), queue);
        if (!name.empty()) {
            try {
                detail::set_root_name(&f.promise(), std::move(name));
            } catch (...) {
                if (!queue) { // not left registered and never run: it ends, cancelled
                    detail::cancel_root(&f.promise());
                    detail::queue_root(&f.promise());
                }
                throw;
            }
        }
        return f;
    }
    void check_not_loop_thread(const char* what) const;
    void advance_by(duration d);
    std::unique_ptr<detail::loop_state> m_state;
};

/// The loop driving the calling thread, or null. **Thread safety:** any thread.
[[nodiscard]] auto current_loop() noexcept -> event_loop*;

template <class T>
auto detail::spawn_unqueued(event_loop& loop, task<T> t) -> future<T> {
    return loop.create_task_unqueued(std::move(t));
}

} // namespace coven
