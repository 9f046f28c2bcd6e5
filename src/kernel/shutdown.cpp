// Loop stop: cancel what is left, let it unwind, and destroy what will never end.

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>

#include <cstdio>
#include <string>

namespace coven::detail {

namespace {
void wake_only(timer_node* /*n*/) noexcept {} // the poll returns: the stop looks again

/// The stop's clock: names the tasks still running once stop_report_after has passed, and says
/// when stop_grace is over. Its timers are disarmed when the stop ends.
class stop_clock {
public:
    explicit stop_clock(loop_state& loop) : m_loop(loop), m_start(loop_time(&loop)) {
        m_report_timer.m_fire = &wake_only;
        m_grace_timer.m_fire = &wake_only;
    }
    stop_clock(const stop_clock&) = delete;
    auto operator=(const stop_clock&) -> stop_clock& = delete;
    ~stop_clock() {
        disarm_timer(&m_loop, &m_report_timer);
        disarm_timer(&m_loop, &m_grace_timer);
    }
    /// The timers of its own still in the wheel.
    [[nodiscard]] auto armed() const noexcept -> std::size_t {
        return (m_report_timer.armed() ? 1 : 0) + (m_grace_timer.armed() ? 1 : 0);
    }
    /// Arms the timers not due yet if `needed`, else disarms them.
    void arm_if(bool needed) {
        arm(m_report_timer, m_loop.m_options.stop_report_after, needed && !m_reported);
        arm(m_grace_timer, m_loop.m_options.stop_grace, needed);
    }
    [[nodiscard]] auto grace_over() const noexcept -> bool {
        return passed(m_loop.m_options.stop_grace);
    }
    void report_if_due() noexcept {
        if (!m_reported && passed(m_loop.m_options.stop_report_after)) {
            m_reported = true;
            report("waiting for", "they were cancelled");
        }
    }
    void report_drop_once() noexcept {
        if (!m_drop_reported) {
            m_drop_reported = true;
            report("dropping", "they were cancelled: its grace period is over");
        }
    }
    /// One line per live task to stderr: "<doing> <n> tasks <since> ...", then each task.
    void report(const char* doing, const char* why) noexcept {
        const double waited = std::chrono::duration<double>(loop_time(&m_loop) - m_start).count();
        std::fprintf(stderr, "coven: stop() is %s %zu task(s) still running %.3f s after %s:\n",
                     doing, static_cast<std::size_t>(m_loop.m_live), waited, why);
        for (promise_base* t = m_loop.m_registry.front(); t != nullptr; t = t->m_reg_next) {
            std::string name;
            try {
                name = root_name(t);
            } catch (...) {
                name = "(a task whose name could not be copied)";
            }
            std::fprintf(stderr, "coven:   %s: %s\n", name.c_str(), describe_state(t));
        }
    }

private:
    static auto describe_state(const promise_base* t) noexcept -> const char* {
        if (t->has(promise_base::f_scheduled)) {
            return "ready to run";
        }
        if (t->parked_waiter() != nullptr) {
            return t->has(promise_base::f_scoped) ? "waiting (inside a cancel scope)"
                                                  : "waiting (it caught its cancellation and "
                                                    "awaits again)";
        }
        return "waiting for work on another thread";
    }
    void arm(timer_node& n, const saturating_duration& d, bool due) {
        if (!due) {
            disarm_timer(&m_loop, &n);
        } else if (!n.armed() && !d.is_never() && !passed(d)) {
            arm_timer_on(&m_loop, &n, saturating_deadline(m_start, d.get()));
        }
    }
    [[nodiscard]] auto passed(const saturating_duration& d) const noexcept -> bool {
        return !d.is_never() && loop_time(&m_loop) >= saturating_deadline(m_start, d.get());
    }

    loop_state& m_loop;
    loop_time_point m_start;
    timer_node m_report_timer;
    timer_node m_grace_timer;
    bool m_reported = false;
    bool m_drop_reported = false;
};
} // namespace

void loop_state::shutdown() {
    auto cancel_new = [this] {
        // Cancel each live task once; a task that catches it may await during its cleanup.
        for (promise_base* t = m_registry.front(); t;) {
            promise_base* next = t->m_reg_next;
            if (!t->has(promise_base::f_shutdown_cancelled)) {
                t->set(promise_base::f_shutdown_cancelled);
                cancel_root(t);
            }
            t = next;
        }
    };
    // The report and the grace period (loop_options): two timers of the stop's own, which wake
    // the poll when they are due and are not work that keeps the stop waiting.
    stop_clock clock(*this);
    int stuck_rounds = 0;
    for (;;) {
        cancel_new();
        while (m_live > 0) {
            // (Once the cross-thread queue is closed below, its marker is not work: a task that
            // a callback run there spawned and that ignores cancellation is stuck, not busy.)
            const bool work = has_ready() || m_after_poll.m_next != &m_after_poll ||
                              m_wheel.size() != clock.armed() || has_posted() ||
                              m_foreign_waits > 0;
            // (Past the grace period, the ready ones still run: a task is dropped where it
            // waits, not where it was about to run.)
            if (!work || (clock.grace_over() && !has_ready())) {
                break;
            }
            // Cleanup may sleep; a wait that another thread ends (a pool call a shield kept,
            // an enter_executor() block) is waited for: its completion wakes the poll.
            // The stop's timers are armed only while the stop would wait anyway (for a task's
            // timer or another thread): otherwise the poll must not wait for them.
            clock.arm_if(m_wheel.size() != clock.armed() || m_foreign_waits > 0);
            run_once(m_foreign_waits > 0 ? wait_mode::forever : wait_mode::until_timer);
            cancel_new();
            clock.report_if_due();
        }
        if (m_live > 0 && clock.grace_over()) {
            // The grace period is over: what is left goes as stuck tasks do, at once.
            clock.report_drop_once();
            stuck_rounds = 1;
        }
        if (m_live == 0) {
            remote_item* rest = close_remote();
            if (rest == nullptr) {
                break;
            }
            run_posted(rest); // may spawn tasks: they are cancelled on the next round
            continue;
        }
        // Nothing can make progress: the remaining tasks wait on something no one will finish.
        if (++stuck_rounds < 2) {
            for (promise_base* t = m_registry.front(); t; t = t->m_reg_next) {
                t->clear(promise_base::f_shutdown_cancelled);
            }
            continue;
        }
        for (promise_base* t = m_registry.front(); t; t = t->m_reg_next) {
            // The kernel's bookkeeping on a stuck task goes, with the references a scope or a
            // group holds on it. Whoever waits for it (an awaiting task, a done-callback, a
            // thread) stays: a task a future refers to ends cancelled below, and they hear it.
            completion_node* n = t->m_completions;
            while (n != nullptr) {
                completion_node* const next = n->m_next == t->m_completions ? nullptr : n->m_next;
                if (n->bookkeeping()) {
                    remove_completion(t, n);
                    static_cast<bookkeeping_node*>(n)->m_on_stop(n, t); // its reference goes
                }
                n = next;
            }
        }
        // The unreferenced ones first. Destroying them may hand a lock, a permit or a value to
        // a referenced one (a guard released by a destructor): that one then runs and takes it,
        // instead of being destroyed holding it.
        // (From the head each time: a destructor may change the registry.)
        bool destroyed = false;
        for (;;) {
            promise_base* t = m_registry.front();
            // (A task a destructor spawned is cancelled first, next round.)
            while (t != nullptr &&
                   (t->m_refs != 1 || !t->has(promise_base::f_shutdown_cancelled))) {
                t = t->m_reg_next;
            }
            if (t == nullptr) {
                break;
            }
            // What still waits for it holds no reference (a start() slot nobody awaits): it is
            // told the task is lost, or just let go.
            while (completion_node* n = t->m_completions) {
                remove_completion(t, n);
                if (n->m_dropped != nullptr) {
                    n->m_dropped(n, t);
                }
            }
            destroy_stuck(t);
            destroyed = true;
        }
        if (destroyed) {
            stuck_rounds = 0;
            continue;
        }
        // Then the ones a future still refers to: their frames go too, and their futures find
        // them ended cancelled. A destructor that hands something to another stuck task lets it
        // run first, to take it and end.
        for (;;) {
            promise_base* t = m_registry.front();
            // Skipped: one woken by a frame destroyed before it (it runs next round), one a
            // destructor spawned (it is cancelled first).
            while (t != nullptr && (t->has(promise_base::f_scheduled) ||
                                    !t->has(promise_base::f_shutdown_cancelled))) {
                t = t->m_reg_next;
            }
            if (t == nullptr) {
                break;
            }
            drop_referenced(t);
            if (has_ready()) {
                break;
            }
        }
        stuck_rounds = 0;
    }
    m_stop_requested.store(false, std::memory_order_relaxed);
}

void loop_state::leave_for_good(promise_base* t) noexcept {
    if (t->has(promise_base::f_scheduled)) {
        // Woken by a frame destroyed before it (a task_scope's waiter): it must not stay in the
        // ready queue once freed.
        unqueue(t);
    }
    if (t->parked_waiter() != nullptr) {
        t->m_waiter = nullptr; // its awaiter unlinks itself when the frame goes
        waiter_count_add(-1);
    }
}

void loop_state::destroy_stuck(promise_base* t) noexcept {
    unregister_root(t);
    leave_for_good(t);
    take_interrupt(t); // side-table state: goes either way
    forget_inherit(t);
    // Its frames' destructors run in its own context, as drop_root()'s do: a scoped_value that
    // puts an old value back writes the task's values, not those of whoever called stop().
    // Those values go after the frame.
    const bool locals = t->has(promise_base::f_has_locals);
    promise_base* const outer = std::exchange(t_current_task, t);
    t->m_destroy(t); // destroys its frames; their awaiters unlink themselves
    t_current_task = outer;
    if (locals) {
        drop_locals(t); // (the freed address is only a key there: nothing is read through it)
    }
}

void loop_state::drop_referenced(promise_base* t) noexcept {
    // Its frame goes now, while the loop lives and on the loop's thread (a destructor in it may
    // use the loop: a scope, a guard), in its own context (its task-local values, its
    // priority), as abort() drops a task; whoever waits for it is told it ended cancelled.
    leave_for_good(t);
    drop_root(t);
}

} // namespace coven::detail
