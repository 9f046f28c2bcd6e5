// Cancel scopes (B1) and future::apply_timeout (S12).
//
// A root task's scopes form a stack through cancel_scope::m_parent, innermost first, headed by
// promise_base::m_scope:
//
//   task --m_scope--> [inner] --m_parent--> [shielded] --m_parent--> [outer] --> null
//
// What an await of the task raises, walking from the innermost scope outwards:
//   - a scope with cancel_called: that scope's cancellation (level-triggered: raised again by
//     every await until the scope is left);
//   - a shielded scope: nothing from further out;
//   - past the last scope: the task's own cancel request (edge-triggered: consumed when raised).
// Inner sources win, so an outer request stays pending while an inner scope unwinds, and is
// raised when that scope is left instead of being reported as the scope's own (leave()).
//
// Who wakes a parked task: scope_kernel::cancel() when the cancelled scope is reachable from the
// innermost one (no shield in between), cancel_root() when no shield holds the request back,
// set_shield(false) when lowering a shield lets something pending through.
//
// Everything here runs on the loop's thread.

#include <coven/detail/kernel.hpp>

#include <coven/cancel_scope.hpp>
#include <coven/future.hpp>
#include <coven/sleep.hpp>
#include <coven/timeout.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

namespace coven::detail {

namespace {

void wake_if_reachable(promise_base* t) noexcept {
    waiter* w = t->parked_waiter();
    if (w && cancel_pending(t)) {
        w->m_on_cancel(w, t);
    }
}

} // namespace

auto scope_cancel_pending(const promise_base* t) noexcept -> bool {
    return scope_kernel::pending(t);
}

void raise_interrupt_unless_a_scope_is_first(promise_base* t) {
    if (!scope_kernel::cancelled_scope_first(t)) { // (else the scope's cancellation comes first)
        raise_interrupt(t); // before the task's own cancel request, which stays pending
    }
}

auto cancellation_for(promise_base* t) noexcept -> coven::cancelled_error {
    // Copies share the message (std::runtime_error's copy cannot throw). Leaked on purpose: a
    // default loop stopped while statics are destroyed at exit still cancels its tasks
    // (RunDeathTest). Made at the first cancellation; if their ~80 bytes cannot be allocated
    // then, std::terminate is called.
    static const coven::cancelled_error& own = *new coven::cancelled_error;
    static const coven::cancelled_error& scope = *new coven::cancelled_error(
        "coven: cancelled by a cancel scope (its deadline passed or cancel() was called)");
    if (!t->has(promise_base::f_scoped)) {
        // The common case: its own request, consumed (with its lateness).
        t->m_flags = static_cast<std::uint16_t>(
            t->m_flags & ~(promise_base::f_cancel_requested | promise_base::f_late_cancel));
        return own;
    }
    return scope_kernel::scope_cancellation_first(t) ? scope : own;
}

auto throw_into_root(promise_base* t, std::exception_ptr e) -> bool {
    if (t->has(promise_base::f_done)) {
        return false;
    }
    store_interrupt(t, std::move(e)); // a later throw replaces an earlier one
    t->set(promise_base::f_interrupt);
    wake_if_reachable(t);
    return true;
}

void raise_interrupt(promise_base* t) {
    std::exception_ptr e = take_interrupt(t);
    if (!e) { // cannot happen: only called with the flag set, and flag and entry go together
        std::fprintf(stderr, "coven: internal error: an interrupt flag without its exception\n");
        std::abort();
    }
    count_raised_interrupt(t);
    if (t->m_scope && is_plain_cancellation(e)) {
        // Like the task's own cancellation: a cancelled scope it unwinds through passes it on.
        // (Any other exception is never taken for a scope's cancellation: nothing to mark.)
        scope_kernel::note_outer_delivered(*t->m_scope);
    }
    std::rethrow_exception(e);
}

auto scope_interrupt_is_next(const promise_base* t) noexcept -> bool {
    return scope_kernel::interrupt_is_next(t);
}

auto scope_kernel::interrupt_is_next(const promise_base* t) noexcept -> bool {
    for (const cancel_scope* s = t->m_scope; s; s = s->m_parent) {
        if (s->cancel_called() || s->shield()) {
            return false; // the scope's cancellation is raised first, or a shield holds it back
        }
    }
    return true;
}

auto retract_interrupt(promise_base* t, const std::exception_ptr& e) noexcept -> bool {
    if (!t->has(promise_base::f_interrupt) || !interrupt_stored_is(t, e)) {
        return false; // raised already, or replaced by another one since (that one stays)
    }
    take_interrupt(t);
    return true;
}

auto scope_kernel::pending(const promise_base* t) noexcept -> bool {
    for (const cancel_scope* s = t->m_scope; s; s = s->m_parent) {
        if (s->cancel_called()) {
            return true;
        }
        if (s->shield()) {
            return false;
        }
    }
    return (t->m_flags & (promise_base::f_cancel_requested | promise_base::f_interrupt)) != 0;
}

auto scope_kernel::cancelled_scope_first(const promise_base* t) noexcept -> bool {
    for (const cancel_scope* s = t->m_scope; s; s = s->m_parent) {
        if (s->cancel_called()) {
            return true;
        }
        if (s->shield()) {
            break;
        }
    }
    return false;
}

auto scope_kernel::scope_cancellation_first(promise_base* t) noexcept -> bool {
    if (cancelled_scope_first(t)) {
        return true;
    }
    if (t->take_cancel()) {
        // Remembered where it was raised: a scope this error unwinds through must pass it on
        // even if the scope's own deadline passes meanwhile (leave()).
        note_outer_delivered(*t->m_scope);
        return false;
    }
    // The task was woken for a cancellation that a shield raised since then holds back: the
    // wake-up has happened, so the cancellation is delivered (it is not recalled).
    for (const cancel_scope* s = t->m_scope; s; s = s->m_parent) {
        if (s->cancel_called()) {
            return true;
        }
    }
    return false;
}

void scope_kernel::note_outer_delivered(cancel_scope& s) noexcept {
    s.m_owner_bits |= cancel_scope::s_outer_delivered;
}

void scope_kernel::enter(cancel_scope& s, promise_base* t) {
    if (s.has(cancel_scope::s_entered)) {
        throw_usage("a cancel_scope was entered a second time; a scope runs one block once: make "
                    "a new scope (or call move_on_after()/fail_after() again) for each block");
    }
    s.m_owner_bits |= cancel_scope::s_entered;
    s.m_task = t;
    s.m_parent = t->m_scope;
    t->m_scope = &s;
    t->set(promise_base::f_scoped);
    if (s.cancel_called() || s.m_deadline == cancel_scope::no_deadline) {
        return;
    }
    if (s.m_deadline <= loop_time(t->m_loop)) {
        s.m_owner_bits |= cancel_scope::s_cancel_called; // the task runs: its next await raises
        return;
    }
    s.m_fire = [](timer_node* n) noexcept { cancel(*static_cast<cancel_scope*>(n)); };
    arm_timer_on(t->m_loop, &s, s.m_deadline);
}

namespace {
void unlink_scope(cancel_scope*& head, cancel_scope* s, cancel_scope* parent) noexcept {
    // Normally `s` is the innermost scope; a frame torn down out of order is unlinked wherever
    // it is.
    for (cancel_scope** link = &head; *link;) {
        if (*link == s) {
            *link = parent;
            return;
        }
        link = &scope_kernel::parent_of(**link);
    }
}
} // namespace

auto scope_kernel::parent_of(cancel_scope& s) noexcept -> cancel_scope*& {
    return s.m_parent;
}

void scope_kernel::pop(cancel_scope& s) noexcept {
    promise_base* t = s.m_task;
    disarm_timer(t->m_loop, &s);
    unlink_scope(t->m_scope, &s, s.m_parent);
    if (!t->m_scope) {
        t->clear(promise_base::f_scoped);
    }
    s.m_task = nullptr;
}

auto scope_kernel::leave(cancel_scope& s, const std::exception_ptr& error) -> bool {
    promise_base* t = s.m_task;
    cancel_scope* parent = s.m_parent;
    pop(s);
    if (!error || !is_plain_cancellation(error)) {
        // A result, a failure, or an exception derived from cancelled_error (an interrupt):
        // handed over as it is, even if s was cancelled. A scope raises a plain one.
        return false;
    }
    if (s.has(cancel_scope::s_outer_delivered)) {
        // The task's own cancellation was raised inside and is unwinding (perhaps replaced by
        // s's while a cleanup awaited): it belongs to the task, not to s.
        if (parent) {
            note_outer_delivered(*parent);
        }
        return false;
    }
    if (!s.cancel_called()) {
        return false; // an outer scope's cancellation passing through
    }
    s.m_owner_bits |= cancel_scope::s_caught;
    if (cancel_pending(t)) {
        throw_cancelled(t); // an outer cancellation arrived too: it wins over ours
    }
    return true;
}

void scope_kernel::abandon(cancel_scope& s) noexcept {
    pop(s);
}

void scope_kernel::cancel(cancel_scope& s) noexcept {
    if (s.cancel_called()) {
        return;
    }
    s.m_owner_bits |= cancel_scope::s_cancel_called;
    promise_base* t = s.m_task;
    if (!t) {
        return; // not entered yet (its block starts cancelled), or already left
    }
    disarm_timer(t->m_loop, &s);
    // Wake the task only if this cancellation reaches where it is parked.
    for (const cancel_scope* cur = t->m_scope; cur; cur = cur->m_parent) {
        if (cur == &s) {
            if (waiter* w = t->parked_waiter()) {
                w->m_on_cancel(w, t);
            }
            return;
        }
        if (cur->shield()) {
            return;
        }
    }
}

void scope_kernel::set_deadline(cancel_scope& s, event_loop::time_point deadline) {
    s.m_deadline = deadline;
    promise_base* t = s.m_task;
    if (!t || s.cancel_called()) {
        return;
    }
    require_loop_thread(t, "cancel_scope::set_deadline()");
    disarm_timer(t->m_loop, &s);
    if (deadline == cancel_scope::no_deadline) {
        return;
    }
    if (deadline <= loop_time(t->m_loop)) {
        cancel(s);
        return;
    }
    s.m_fire = [](timer_node* n) noexcept { cancel(*static_cast<cancel_scope*>(n)); };
    arm_timer_on(t->m_loop, &s, deadline); // the task's loop, whoever calls
}

void scope_kernel::set_shield(cancel_scope& s, bool on) {
    if (s.m_task) {
        require_loop_thread(s.m_task, "cancel_scope::set_shield()");
    }
    if (on) {
        s.m_owner_bits |= cancel_scope::s_shield;
        return;
    }
    s.m_owner_bits &= static_cast<std::uint8_t>(~cancel_scope::s_shield);
    if (s.m_task) {
        wake_if_reachable(s.m_task); // what the shield held back gets in now
    }
}

void scope_kernel::throw_timeout() {
    throw timeout_error("coven: the deadline of a fail_after()/fail_at() scope passed; the work "
                        "was cancelled and has unwound");
}

auto deadline_after(event_loop::duration d, const char* what) -> event_loop::time_point {
    return saturating_deadline(loop_now(what), d);
}

// ---------------------------------------------------------------- apply_timeout (S12)

/// apply_timeout()'s end (and, when loop stop gives up on the task, its stop hook: owned by the
/// task, the node holds no reference).
void root_timeout_end(completion_node* c, promise_base* t) noexcept;

namespace {

/// The deadline of a root task's apply_timeout(): a timer that cancels the task, and a
/// completion that frees the node when the task ends.
struct root_timeout final : timer_node, bookkeeping_node {
    root_timeout() noexcept : bookkeeping_node(&root_timeout_end) {}
    promise_base* m_target = nullptr;
};

void root_timeout_fire(timer_node* n) noexcept {
    promise_base* target = static_cast<root_timeout*>(n)->m_target;
    if (target->has(promise_base::f_cancel_sent)) {
        // Already being cancelled by someone else: that cancellation is its outcome, and a
        // second one would cut the cleanup it may be running.
        return;
    }
    cancel_root(target);
    target->set(promise_base::f_timed_out);
}

} // namespace

void root_timeout_end(completion_node* c, promise_base* t) noexcept {
    auto* node = static_cast<root_timeout*>(c);
    disarm_timer(t->m_loop, node);
    delete node;
}

auto is_root_timeout(const completion_node* c) noexcept -> bool {
    return c->m_fire == &root_timeout_end;
}

void apply_root_timeout(promise_base* t, event_loop::duration d) {
    require_loop_thread(t, "future::apply_timeout()");
    if (t->has(promise_base::f_done)) {
        return;
    }
    // The task's loop's clock: the caller may be a thread that merely owns an undriven loop.
    const auto deadline = saturating_deadline(loop_time(t->m_loop), d);
    root_timeout* node = nullptr;
    if (completion_node* head = t->m_completions) {
        completion_node* c = head;
        do {
            if (is_root_timeout(c)) {
                node = static_cast<root_timeout*>(c);
                break;
            }
            c = c->m_next;
        } while (c != head);
    }
    if (node) {
        disarm_timer(t->m_loop, node); // a later call moves the deadline
    } else {
        node = new root_timeout();
        node->m_target = t;
        node->completion_node::m_fire = &root_timeout_end;
        node->timer_node::m_fire = &root_timeout_fire;
        add_completion(t, node);
    }
    if (deadline != cancel_scope::no_deadline) {
        arm_timer_on(t->m_loop, node, deadline);
    }
}

void throw_root_timeout(const promise_base* t) {
    throw timeout_error("coven: " + root_name(t) +
                        " timed out: its apply_timeout() deadline passed and it was cancelled");
}

} // namespace coven::detail
