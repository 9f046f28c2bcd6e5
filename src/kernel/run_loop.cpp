// The loop's kernel: ready queue, run/poll cycle, root task bookkeeping, cancellation entry
// points, the cross-thread queue and shutdown.
//
// One iteration (run_once):
//   1. run ready tasks in FIFO order (a priority loop: most urgent first) until the queue is empty,
//   or until the starvation guard
//      (io_poll_interval runs) forces a poll;
//   2. poll epoll: without waiting if anything is still ready or waits for a poll, otherwise
//      until the next timer (virtual clock: jump to it instead) or a wake-up;
//   3. run what other threads posted;
//   4. wake the tasks parked in skip_poll_cycle();
//   5. fire the timers that are due.
// Hence S11: tasks that are ready always drain before I/O is polled.

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>

#include <limits>
#include <string>

namespace coven::detail {
namespace {

/// Moves every link of the circular list `from` (a sentinel) to the empty list `to`.
void splice_all(poll_link& from, poll_link& to) noexcept {
    to.m_next = from.m_next;
    to.m_prev = from.m_prev;
    to.m_next->m_prev = &to;
    to.m_prev->m_next = &to;
    from.m_next = from.m_prev = &from;
}

} // namespace

// ---------------------------------------------------------------- loop state

loop_state::loop_state(event_loop* self, loop_options options)
    : m_self(self), m_options(options),
      m_origin(options.clock == clock_kind::real ? event_loop::clock::now()
                                                 : event_loop::time_point{}),
      m_prioritized(options.scheduling == scheduling_policy::priority) {
    m_after_poll.m_next = m_after_poll.m_prev = &m_after_poll;
    m_wheel.start_at(now_tick());
    m_poll_every = options.io_poll_interval != 0 ? options.io_poll_interval : UINT64_MAX;
    m_io = make_io_backend(options.io);
}

auto loop_state::now_tick() const noexcept -> std::uint64_t {
    auto ns = now_ns();
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / 1000);
}

namespace {
/// Ends a root at what would be its first turn, its body never run: it was cancelled (it ends
/// cancelled) or had an exception thrown in (it ends with that exception, as a coroutine does
/// that is thrown into before it starts).
[[gnu::cold]] void end_unstarted(promise_base* t) noexcept {
    // Its done-callbacks run now, as if in its turn.
    promise_base* const outer = std::exchange(t_current_task, t);
    if (t->has(promise_base::f_interrupt)) {
        try {
            raise_interrupt(t);
        } catch (...) {
            std::exception_ptr e = std::current_exception();
            if (is_cancellation(e)) {
                t->set(promise_base::f_cancelled);
            } else {
                t->m_exception = std::move(e);
            }
        }
    } else {
        t->take_cancel();
        t->set(promise_base::f_cancelled);
    }
    root_finished(t); // destroys the never-started frame if nobody holds it
    t_current_task = outer;
}

/// Marks a root's first turn; false if it ended instead: it was cancelled or had an exception
/// thrown in before it ever ran (end_unstarted()).
inline auto first_turn(promise_base* t) noexcept -> bool {
    t->set(promise_base::f_started);
    constexpr auto ending = promise_base::f_cancel_requested | promise_base::f_interrupt;
    if ((t->m_flags & ending) == 0) {
        return true;
    }
    end_unstarted(t);
    return false;
}

/// Before a root's turn: true if it runs. A first turn may end it instead (first_turn()), and a
/// task that abort() dropped ends without running (drop_root()). One test in the common case.
inline auto begin_turn(promise_base* t) noexcept -> bool {
    constexpr auto special = promise_base::f_started | promise_base::f_dropped;
    if ((t->m_flags & special) == promise_base::f_started) [[likely]] {
        return true;
    }
    if (t->has(promise_base::f_dropped)) {
        drop_root(t);
        return false;
    }
    return first_turn(t);
}
} // namespace

void loop_state::run_ready() noexcept {
    // One test per batch, not per task: a FIFO loop pays nothing for priorities.
    if (m_prioritized) {
        run_ready_as<true>();
    } else {
        run_ready_as<false>();
    }
}

template <bool Prioritized>
void loop_state::run_ready_as() noexcept {
    std::uint64_t runs = 0;
    promise_base* const outer = t_current_task;
    promise_base* const outer_turn = m_turn; // (run_ready() is not re-entered today; be safe)
    for (;;) {
        promise_base* t = nullptr;
        if constexpr (Prioritized) {
            t = pick_prioritized();
            if (!t) {
                break;
            }
        } else {
            t = m_ready_head;
            if (!t) {
                break;
            }
            m_ready_head = t->m_next;
            if (!m_ready_head) {
                m_ready_tail = nullptr;
            }
        }
        t->clear(promise_base::f_scheduled);
        t->m_waiter = nullptr; // shares m_next's word: the task is running, parked nowhere
        ++runs;
        if constexpr (!Prioritized) {
            // A yield in this turn may skip its turn when nothing else is ready. Set before
            // first_turn(): m_turn never names a task that ended, only the one running now.
            m_turn = t;
        }
        if (!begin_turn(t)) {
            continue;
        }
        give_turn(t);
        if (++m_runs_since_poll >= m_poll_every) {
            break;
        }
    }
    m_turn = outer_turn;
    t_current_task = outer;
    m_runs += runs;
}

void loop_state::run_once(wait_mode mode, const promise_base* until) {
    run_ready();
    if (until && until->has(promise_base::f_done)) {
        return; // run_until_complete: its task just ended, do not block in a poll
    }
    const bool forced = has_ready();
    const bool poll_waiters = m_after_poll.m_next != &m_after_poll;
    std::int64_t timeout_ns = -1; // no limit: until I/O or a wake-up
    if (forced || poll_waiters || has_posted()) {
        timeout_ns = 0;
    } else if (auto next = m_wheel.next_expiration()) {
        if (m_options.clock == clock_kind::virtual_time) {
            if (m_options.autojump) {
                // Forward only, and never over an advance() another thread makes meanwhile.
                const std::int64_t target = tick_to_ns(*next);
                std::int64_t now = m_virtual_ns.load(std::memory_order_relaxed);
                while (now < target &&
                       !m_virtual_ns.compare_exchange_weak(now, target, std::memory_order_acq_rel,
                                                           std::memory_order_relaxed)) {
                }
                timeout_ns = 0;
            }
        } else {
            const std::int64_t diff = tick_to_ns(*next) - now_ns();
            timeout_ns = diff <= 0 ? 0 : diff; // the engine rounds it up to its own unit
        }
    } else if (mode == wait_mode::until_timer) {
        timeout_ns = 0;
    }
    m_io->wait(timeout_ns);
    m_runs_since_poll = 0;
    ++m_polls;
    if (forced) {
        ++m_forced_polls;
    }
    // The tasks parked before this poll move to a list of their own before anything else runs:
    // a posted callback may cancel one (it unlinks itself, from whichever list holds it), and a
    // task that parks from a callback waits for the next poll. What is decided before code runs
    // is never trusted after it.
    poll_link polled;
    polled.m_next = polled.m_prev = &polled;
    if (poll_waiters) {
        splice_all(m_after_poll, polled);
    }
    drain_remote();
    while (polled.m_next != &polled) {
        poll_link* link = polled.m_next;
        link->unlink();
        wake(link->m_task); // (runs nothing)
    }
    if (m_wheel.size() != 0) {
        auto fired = m_wheel.advance(now_tick());
        count_add(g_live.timers, -static_cast<std::int64_t>(fired));
    }
}

namespace {
// Each nested turn (an eager start, a task run at once) nests on the C stack; past this depth (a
// chain of children that each start the next eagerly) the turn is queued instead, keeping the
// stack bounded.
constexpr int max_nested_turns = 64;
thread_local int t_nested_turns = 0;

/// The turn run_ready() would give `root`, nested in the caller's: the caller is running, not
/// parked, and resumes when this returns.
void nested_turn(loop_state* loop, promise_base* root) noexcept {
    ++t_nested_turns;
    ++loop->m_runs;
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    give_turn(root);
    t_current_task = caller;
    t_transfer = pending;
    --t_nested_turns;
}
} // namespace

void start_now(promise_base* root) noexcept {
    loop_state* loop = state_of(root);
    if (t_loop != loop ||
        (root->m_flags & (promise_base::f_cancel_requested | promise_base::f_interrupt)) != 0 ||
        t_nested_turns >= max_nested_turns) {
        loop->push_ready(root); // run_ready() gives it its turn (or ends it, if cancelled)
        return;
    }
    root->set(promise_base::f_started);
    nested_turn(loop, root);
}

auto run_root_now(promise_base* root) noexcept -> bool {
    loop_state* loop = state_of(root);
    if (t_loop != loop || !root->has(promise_base::f_scheduled) || root == t_current_task ||
        t_nested_turns >= max_nested_turns) {
        return false;
    }
    loop->unqueue(root);
    root->m_waiter = nullptr; // shares m_next's word: running, parked nowhere
    if (!begin_turn(root)) {
        return true; // it ended without running
    }
    nested_turn(loop, root);
    return true;
}

void drive_until_done(loop_state& loop, promise_base* root) {
    while (!root->has(promise_base::f_done)) {
        if (loop.m_stop_requested.load(std::memory_order_relaxed)) {
            loop.shutdown();
            break;
        }
        loop.run_once(wait_mode::forever, root);
    }
}

drive_guard::drive_guard(loop_state& loop) : m_loop(loop), m_previous(t_loop) {
    auto me = std::this_thread::get_id();
    if (loop.m_driver.load() == me) {
        throw usage_error("coven: run_until_complete() called from the loop's own thread; "
                          "co_await the task instead");
    }
    if (loop.m_background.load()) {
        throw usage_error("coven: run_until_complete() on a loop driven by its own thread; use "
                          "event_loop::run(), which blocks until the task ends");
    }
    std::thread::id none{};
    if (!loop.m_driver.compare_exchange_strong(none, me)) {
        throw usage_error("coven: run_until_complete() while another thread drives the loop");
    }
    loop.reopen_remote();
    t_loop = &loop;
}

drive_guard::drive_guard(loop_state& loop, adopt_t /*tag*/) noexcept
    : m_loop(loop), m_previous(t_loop) {
    loop.reopen_remote();
    t_loop = &loop;
}

drive_guard::~drive_guard() {
    // A stop request is acted on by whoever drives the loop. One that came while this thread
    // drove it but after the run's last look (its task ended in the same turn) is acted on now,
    // before letting go; one that lands while letting go is taken back, unless stop() itself or
    // a new run has taken the loop, and then that one acts on it. (stop() raises the request
    // before it looks for a driver, and this looks for a request after letting go: one of the
    // two always sees the other.)
    const auto me = std::this_thread::get_id();
    for (;;) {
        if (m_loop.m_stop_requested.load()) {
            try {
                m_loop.shutdown(); // clears the request
            } catch (...) {
                m_loop.m_stop_requested.store(false);
                report_callback_error(std::current_exception());
            }
        }
        m_loop.m_driver.store(std::thread::id{});
        if (!m_loop.m_stop_requested.load()) {
            break;
        }
        std::thread::id none{};
        if (!m_loop.m_driver.compare_exchange_strong(none, me)) {
            break;
        }
    }
    t_loop = m_previous;
}

} // namespace coven::detail
