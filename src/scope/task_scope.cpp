// task_scope: the structured-concurrency core (ARCHITECTURE §4).
//
// A scope keeps a circular list of scope_child nodes, one per live child task. Each node is also
// a completion node on its child, so the child's end calls child_ended(), and holds a reference
// on the child's promise until then. Forked scopes count as live (awaited) children of their
// parent.
//
// States:   open --finalize()--> finalized --awaited children done--> closing
//             \                        \                                  |
//              +------ cancelling <-----+  (cancel(), timeout, error,     | background
//                         |                 master ended, parent)         | children cancelled
//                         v                                               v
//                        done  <------------- no live children ----------+
//
// done wakes every joiner and tells the parent. Everything runs on the loop's thread.

#include <coven/detail/kernel.hpp>

#include <coven/sleep.hpp>
#include <coven/task_scope.hpp>

#include <cstdio>
#include <string>

namespace coven::detail {

struct task_scope_kernel {
    static void link(task_scope& s, scope_child* n) noexcept { s.m_children.push_back(*n); }

    static void unlink(task_scope& s, scope_child* n) noexcept {
        s.m_children.erase(*n);
        --s.m_live;
        if (n->m_awaited) {
            --s.m_awaited_live;
        }
    }

    /// Calls f(n) for each child, oldest first; f may unlink the child it is given.
    template <class F>
    static void for_each_child(task_scope& s, F f) {
        s.m_children.for_each([&f](scope_child& n) { f(&n); });
    }

    static void child_ended(completion_node* c, promise_base* t) noexcept {
        auto* n = static_cast<scope_child*>(c);
        task_scope& s = *n->m_scope;
        if (t->m_exception) {
            if (n->m_bubble && !t->has(promise_base::f_joined)) {
                t->set(promise_base::f_observed); // the scope reports it
                s.m_errors.push_back(t->m_exception);
                s.log(root_name(t) + " failed: " + describe_exception(t->m_exception));
                if (s.m_on_error == error_mode::cancel) {
                    cancel(s, "a task failed");
                }
            } else {
                s.log(root_name(t) +
                      " failed (not bubbling): " + describe_exception(t->m_exception));
            }
        } else if (t->has(promise_base::f_cancelled)) {
            s.log(root_name(t) + " cancelled");
        } else {
            s.log(root_name(t) + " finished");
        }
        if (n->m_master) {
            cancel(s, "its master task ended");
        }
        unlink(s, n);
        --t->m_refs; // ours; the loop still holds one while the task ends
        delete n;
        check_done(s);
    }

    // Quiet by itself: what the scope raises at its end depends only on its errors and on
    // whether the timeout fired.
    static void cancel(task_scope& s, const char* why) noexcept {
        if (s.m_done || s.m_cancelling) {
            return;
        }
        s.m_cancelling = true;
        s.log(std::string("cancelled: ") + why);
        disarm_timer(detail::loop_core_of(*s.m_loop), &s.m_deadline);
        scope_kernel::cancel(s.m_body);
        for_each_child(s, [](scope_child* n) { cancel_root(n->m_task); });
        cancel_forks(s, "its parent scope was cancelled");
        check_done(s);
    }

    // A fork that ends at once detaches from s.m_forks: iterate over a copy.
    static void cancel_forks(task_scope& s, const char* why) noexcept {
        if (s.m_forks.empty()) {
            return;
        }
        std::vector<task_scope*> forks;
        try {
            forks = s.m_forks;
        } catch (...) {
            // No memory for the copy: cancel from the back, where an erase moves nothing.
            for (std::size_t i = s.m_forks.size(); i-- > 0;) {
                if (i < s.m_forks.size()) {
                    cancel(*s.m_forks[i], why);
                }
            }
            return;
        }
        for (task_scope* f : forks) {
            cancel(*f, why);
        }
    }

    static void check_done(task_scope& s) noexcept {
        // A with_scope() block is part of its scope: the scope neither closes nor ends while the
        // block runs, whatever its children do (a fork() or spawn() in a cancelled block gets
        // a cancelled child, not an error). with_scope() looks again when the block is over.
        if (s.m_done || s.m_body.active()) {
            return;
        }
        if (!s.m_closing && !s.m_cancelling && s.m_finalized && s.m_awaited_live == 0) {
            s.m_closing = true; // background children are cancelled, quietly
            disarm_timer(detail::loop_core_of(*s.m_loop),
                         &s.m_deadline); // the work it bounded is done
            for_each_child(s, [](scope_child* n) {
                if (!n->m_awaited) {
                    cancel_root(n->m_task);
                }
            });
        }
        if (s.m_live != 0 || !(s.m_closing || s.m_cancelling)) {
            return;
        }
        s.m_done = true;
        disarm_timer(detail::loop_core_of(*s.m_loop), &s.m_deadline);
        s.log("done");
        std::exception_ptr outcome;
        try {
            outcome = s.outcome();
        } catch (...) {
            outcome = std::current_exception(); // bad_alloc making it: that is what they get
        }
        while (task_scope::join_awaiter* j = s.m_joiners.pop_front()) {
            // Each waiter takes the outcome now: the first to resume may destroy the scope.
            j->m_parked = false;
            j->m_scope = nullptr;
            j->m_outcome = outcome;
            j->m_outcome_is_failure = !s.m_errors.empty();
            wake(j->m_task);
        }
        if (task_scope* parent = s.m_parent) {
            detach_from_parent(s);
            check_done(*parent);
        }
    }

    static void detach_from_parent(task_scope& s) noexcept {
        task_scope& parent = *s.m_parent;
        std::erase(parent.m_forks, &s);
        --parent.m_live;
        --parent.m_awaited_live;
        s.m_parent = nullptr;
    }

    static void deadline_fired(timer_node* n) noexcept {
        task_scope& s = *static_cast<task_scope::deadline_timer*>(n)->m_owner;
        s.m_timed_out = true;
        cancel(s, "its timeout passed");
    }

    static auto joiner_cancelled(waiter* w, promise_base*) noexcept -> cancel_result {
        auto* j = static_cast<task_scope::join_awaiter*>(w);
        if (!j->m_cancel_seen) {
            j->m_cancel_seen = true;
            cancel(*j->m_scope, "the task waiting for it was cancelled");
        }
        return cancel_result::stays_parked; // the scope's end wakes j (perhaps already has)
    }
};

auto is_scope_child(const completion_node* c) noexcept -> bool {
    return c->m_fire == &task_scope_kernel::child_ended;
}

void scope_child_dropped(completion_node* c, promise_base* t) noexcept {
    auto* n = static_cast<scope_child*>(c);
    task_scope& s = *n->m_scope;
    task_scope_kernel::unlink(s, n);
    --t->m_refs;
    delete n;
    // A scope that outlives the stop (one made outside any task) may end now; a task waiting
    // for it is woken, and runs in the stop's next round.
    task_scope_kernel::check_done(s);
}

/// A cancellation of `t` that was consumed by being raised, and is not about to be raised again
/// by a cancelled scope: requested again, so that raising failures instead does not lose it.
void keep_cancellation_pending(promise_base* t) noexcept {
    if (t && !cancel_pending(t)) {
        t->set(promise_base::f_cancel_requested);
    }
}

namespace {
[[noreturn]] void throw_failures(std::vector<std::exception_ptr> failures) {
    if (failures.size() == 1) {
        std::rethrow_exception(failures.front());
    }
    throw aggregate_error(std::move(failures));
}
} // namespace

void finish_with_scope(const task_scope& scope, const std::exception_ptr& block_error,
                       const std::exception_ptr& wait_error) {
    std::exception_ptr cancellation;
    std::vector<std::exception_ptr> failures;
    if (block_error) {
        if (is_cancellation(block_error)) {
            cancellation = block_error;
        } else {
            failures.push_back(block_error);
        }
    }
    if (wait_error && is_cancellation(wait_error) && !cancellation) {
        cancellation = wait_error;
    }
    failures.insert(failures.end(), scope.errors().begin(), scope.errors().end());
    if (!failures.empty()) {
        if (cancellation) {
            keep_cancellation_pending(current_task()); // raised by the next await
        }
        throw_failures(std::move(failures));
    }
    if (cancellation) {
        std::rethrow_exception(cancellation);
    }
    if (wait_error) {
        std::rethrow_exception(wait_error); // usage_error: the scope was destroyed
    }
    scope.rethrow_outcome();
}

} // namespace coven::detail

namespace coven {

using detail::task_scope_kernel;

auto task_scope::current_loop_or_throw() -> event_loop& {
    event_loop* loop = current_loop();
    if (!loop) {
        detail::throw_usage("task_scope used outside a loop thread; make and use scopes inside "
                            "the tasks of a loop");
    }
    return *loop;
}

task_scope::task_scope(scope_options options) : task_scope(current_loop_or_throw(), options) {}

task_scope::task_scope(event_loop& loop, scope_options options)
    : m_name(options.name), m_on_exit(options.on_exit), m_on_error(options.on_error),
      m_logger(options.logger), m_loop(&loop) {
    check_thread("task_scope's constructor");
    if (m_name.empty()) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "scope@%p", static_cast<void*>(this));
        m_name = buf;
    }
    m_body.m_owner = this;
    detail::scope_kernel::mark_task_scope_body(m_body);
    m_deadline.m_owner = this;
    m_deadline.m_fire = &task_scope_kernel::deadline_fired;
    if (!options.timeout.is_never()) {
        detail::arm_timer_on(detail::loop_core_of(*m_loop), &m_deadline,
                             detail::saturating_deadline(m_loop->now(), options.timeout.get()));
    }
}

task_scope::task_scope(task_scope& parent, scope_options options)
    : task_scope(*parent.m_loop, options) {
    if (parent.m_done) {
        if (!parent.m_cancelling) {
            detail::throw_usage("fork() of a task_scope that has ended; fork it while it runs");
        }
        // Ended by cancellation: as spawn() does, the new child starts cancelled (and, with
        // nothing in it, has ended).
        log("forked from " + parent.m_name + ", which was cancelled");
        task_scope_kernel::cancel(*this, "its parent scope was cancelled");
        return;
    }
    parent.m_forks.push_back(this); // first: if it throws, nothing is linked yet
    m_parent = &parent;
    ++parent.m_live;
    ++parent.m_awaited_live;
    log("forked from " + parent.m_name);
    if (parent.m_cancelling) {
        task_scope_kernel::cancel(*this, "its parent scope was cancelled");
    }
}

task_scope::~task_scope() {
    detail::disarm_timer(detail::loop_core_of(*m_loop), &m_deadline);
    if (!m_done) {
        // Destroyed without being awaited (or at loop teardown): the children are cancelled and
        // forgotten; each unwinds on its own.
        task_scope_kernel::for_each_child(*this, [this](detail::scope_child* n) {
            detail::remove_completion(n->m_task, n);
            detail::cancel_root(n->m_task);
            task_scope_kernel::unlink(*this, n);
            detail::release_root(n->m_task);
            delete n;
        });
        task_scope_kernel::cancel_forks(*this, "its parent scope was destroyed");
        for (task_scope* f : m_forks) {
            f->m_parent = nullptr; // orphaned: each ends on its own
        }
        while (join_awaiter* j = m_joiners.pop_front()) {
            j->m_parked = false;
            j->m_scope = nullptr;
            j->m_scope_destroyed = true;
            detail::wake(j->m_task);
        }
        if (task_scope* parent = m_parent) {
            task_scope_kernel::detach_from_parent(*this);
            task_scope_kernel::check_done(*parent);
        }
    }
}

void task_scope::node_deleter::operator()(detail::scope_child* n) const noexcept {
    delete n;
}

auto task_scope::make_child_node() -> child_node {
    return child_node(new detail::scope_child());
}

void task_scope::check_thread(const char* what) const {
    if (!m_loop->in_loop_thread() && m_loop->is_running()) {
        throw usage_error(std::string("coven: ") + what +
                          " from a thread that does not drive the scope's loop; use "
                          "event_loop::call_soon_threadsafe()");
    }
}

void task_scope::adopt(detail::promise_base* child, const spawn_options& options,
                       child_node node) noexcept {
    detail::scope_child* n = node.release();
    n->m_scope = this;
    n->m_task = child;
    n->m_bubble = options.bubble;
    n->m_master = options.master;
    n->m_awaited = options.awaited;
    n->m_fire = &task_scope_kernel::child_ended;
    ++child->m_refs;
    detail::add_completion(child, n);
    task_scope_kernel::link(*this, n);
    ++m_live;
    if (n->m_awaited) {
        ++m_awaited_live;
    }
    if (m_cancelling || m_closing) {
        detail::cancel_root(child); // ends before its first turn
    }
    if (m_logger) {
        try {
            log("spawned " + detail::root_name(child) + (options.master ? " (master)" : "") +
                (options.bubble ? "" : " (not bubbling)") +
                (options.awaited ? "" : " (background)"));
        } catch (...) { // building the line: a lost log line, nothing else
        }
    }
}

void task_scope::finalize() {
    check_thread("task_scope::finalize()");
    if (m_done) {
        return;
    }
    if (m_finalized) {
        task_scope_kernel::check_done(*this); // (with_scope()'s call after a block that finalized)
        return;
    }
    m_finalized = true;
    log("finalized");
    if (m_on_exit == exit_mode::cancel && !m_cancelling) {
        m_closing = true; // unfinished children are cancelled, quietly
        detail::disarm_timer(detail::loop_core_of(*m_loop), &m_deadline);
        task_scope_kernel::for_each_child(
            *this, [](detail::scope_child* n) { detail::cancel_root(n->m_task); });
        task_scope_kernel::cancel_forks(*this, "its parent scope exited");
    }
    task_scope_kernel::check_done(*this);
}

void task_scope::cancel() {
    check_thread("task_scope::cancel()");
    task_scope_kernel::cancel(*this, "cancel() was called");
}

auto task_scope::current() noexcept -> task_scope* {
    detail::promise_base* t = detail::current_task();
    if (!t) {
        return nullptr;
    }
    for (cancel_scope* s = t->m_scope; s; s = detail::scope_kernel::parent_of(*s)) {
        if (detail::scope_kernel::is_task_scope_body(*s)) {
            return static_cast<body_scope*>(s)->m_owner;
        }
    }
    if (detail::completion_node* head = t->m_completions) {
        detail::completion_node* c = head;
        do {
            if (detail::is_scope_child(c)) {
                return static_cast<detail::scope_child*>(c)->m_scope;
            }
            c = c->m_next;
        } while (c != head);
    }
    return nullptr;
}

auto task_scope::outcome() const -> std::exception_ptr {
    if (m_errors.size() == 1) {
        return m_errors.front();
    }
    if (m_errors.size() > 1) {
        return std::make_exception_ptr(aggregate_error(m_errors));
    }
    if (m_timed_out) {
        return std::make_exception_ptr(
            timeout_error("coven: task scope '" + m_name +
                          "' timed out; its tasks were cancelled and have "
                          "unwound"));
    }
    return nullptr;
}

void task_scope::rethrow_outcome() const {
    if (!m_done) {
        detail::throw_usage("task_scope::rethrow_outcome() before the scope ended; co_await it");
    }
    if (auto e = outcome()) {
        std::rethrow_exception(e);
    }
}

void task_scope::log(const std::string& line) const noexcept {
    if (!m_logger) {
        return;
    }
    try {
        m_logger("scope '" + m_name + "': " + line);
    } catch (...) {
        detail::report_callback_error(std::current_exception()); // the loop's handler
    }
}

// ---------------------------------------------------------------- join_awaiter

task_scope::join_awaiter::~join_awaiter() {
    if (m_parked && m_scope) { // a frame destroyed while waiting (loop teardown)
        m_scope->m_joiners.erase(*this);
    }
}

auto task_scope::join_awaiter::await_suspend(std::coroutine_handle<> h) -> bool {
    m_task = detail::require_current_task("co_await task_scope");
    if (detail::loop_core_of(*m_scope->m_loop) != m_task->m_loop) {
        if (detail::t_sync_depth != 0) {
            detail::throw_usage("co_await task_scope inside await_sync() waits on a loop, and a "
                                "synchronous run has none; await it in a task instead");
        }
        // It would be woken, and its cancel would cancel the scope, from the wrong thread.
        detail::throw_usage("co_await task_scope from a task of another loop than the scope's; "
                            "a scope belongs to the loop it was made on: await it there");
    }
    if (detail::cancel_pending(m_task)) {
        // The scope must not be left behind running: cancel it and wait for its end.
        m_cancel_seen = true;
        task_scope_kernel::cancel(*m_scope, "the task waiting for it was cancelled");
        if (m_scope->m_done) {
            return false;
        }
    }
    m_on_cancel = &task_scope_kernel::joiner_cancelled;
    detail::park(m_task, this, h);
    m_scope->m_joiners.push_back(*this);
    m_parked = true;
    return true;
}

void task_scope::join_awaiter::await_resume() {
    if (m_scope_destroyed) {
        detail::throw_usage("a task_scope was destroyed while a task waited for it");
    }
    if (m_scope) { // never parked: the scope had ended, and is still there
        m_outcome = m_scope->outcome();
        m_outcome_is_failure = !m_scope->m_errors.empty();
    }
    if (m_cancel_seen) {
        if (m_raise && m_outcome_is_failure) {
            // Failures are not dropped for a cancellation: they are raised, and the
            // cancellation stays pending for the next await.
            detail::keep_cancellation_pending(m_task);
            std::rethrow_exception(m_outcome);
        }
        detail::throw_cancelled(m_task); // never a timeout: the outer cancellation wins
    }
    if (m_raise && m_outcome) {
        std::rethrow_exception(m_outcome);
    }
}

} // namespace coven
