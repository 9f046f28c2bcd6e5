// Root tasks: spawning, cancelling, the completions fired at their end, and the references that
// keep their frames (ARCHITECTURE §2, §3).

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>

namespace coven::detail {

void count_foreign_wait(const promise_base* task, int delta) noexcept {
    state_of(task)->m_foreign_waits += delta;
}

auto owning_loop(const promise_base* task) noexcept -> event_loop* {
    return state_of(task)->m_self;
}

void wait_for_poll(promise_base* t, poll_link* link) noexcept {
    poll_link& head = state_of(t)->m_after_poll;
    link->m_next = &head;
    link->m_prev = head.m_prev;
    head.m_prev->m_next = link;
    head.m_prev = link;
}

namespace {
/// cancel_root()'s work on a task that has not ended: what its waiter's hook did, or
/// stays_parked when no hook ran (the task is running or queued, or a shielded scope holds the
/// request back until it is left).
auto deliver_cancel(promise_base* t) noexcept -> cancel_result {
    if (!t->has(promise_base::f_cancel_requested)) {
        // A cancellation of its own, not one on top of a pending one: if the task ends by it,
        // that is its outcome, not an apply_timeout() cancellation it caught earlier and went
        // on from. (The timeout labels the task after calling this.)
        t->clear(promise_base::f_timed_out);
        // Late: it was woken from its last wait, with that wait's result, and has not run yet.
        constexpr auto woken = promise_base::f_scheduled | promise_base::f_started;
        if ((t->m_flags & woken) == woken && t_current_task != t) {
            t->set(promise_base::f_late_cancel);
        } else {
            t->clear(promise_base::f_late_cancel);
        }
    }
    t->set(promise_base::f_cancel_requested);
    t->set(promise_base::f_cancel_sent);
    waiter* w = t->parked_waiter();
    if (w && cancel_pending(t)) {
        return w->m_on_cancel(w, t);
    }
    return cancel_result::stays_parked;
}
} // namespace

auto cancel_root(promise_base* t) noexcept -> bool {
    if (t->has(promise_base::f_done)) {
        return false;
    }
    deliver_cancel(t);
    return true;
}

namespace {
/// True if `t` waits at an await of its own body (not in a task it awaits): the frames a drop
/// destroys are then the root's alone. Library coroutines a task awaits (a scope, a timeout)
/// may need to run code to leave cleanly, so a task inside one is cancelled instead. The ABI of
/// g++ and clang puts the promise right after the frame's two function pointers; a layout that
/// differs only makes this false, and abort() then cancels.
auto parked_in_own_body(const promise_base* t) noexcept -> bool {
    const void* innermost = t->m_resume.address();
    return innermost != nullptr && static_cast<const char*>(innermost) + 2 * sizeof(void*) ==
                                       reinterpret_cast<const char*>(t);
}
} // namespace

auto abort_root(promise_base* t) noexcept -> bool {
    if (t->has(promise_base::f_done)) {
        return false;
    }
    if (t->parked_waiter() == nullptr || !parked_in_own_body(t)) {
        return cancel_root(t);
    }
    // The hook unlinks the waiter and wakes the task; where it owes nothing, the task's next
    // turn destroys its frame instead of resuming it (begin_turn()).
    if (deliver_cancel(t) == cancel_result::unlinked_owes_nothing) {
        t->set(promise_base::f_dropped);
    }
    return true;
}

void bookkeeping_marker(completion_node* /*self*/, promise_base* /*task*/) noexcept {}

void add_completion(promise_base* t, completion_node* n) noexcept {
    if (completion_node* head = t->m_completions) {
        n->m_next = head;
        n->m_prev = head->m_prev;
        head->m_prev->m_next = n;
        head->m_prev = n;
    } else {
        n->m_next = n->m_prev = n;
        t->m_completions = n;
    }
}

void remove_completion(promise_base* t, completion_node* n) noexcept {
    if (n->m_next == n) {
        t->m_completions = nullptr;
    } else {
        n->m_prev->m_next = n->m_next;
        n->m_next->m_prev = n->m_prev;
        if (t->m_completions == n) {
            t->m_completions = n->m_next;
        }
    }
    n->m_next = n->m_prev = nullptr;
}

void root_finished(promise_base* t) noexcept {
    t->set(promise_base::f_done);
    if (t->has(promise_base::f_cancel_requested)) [[unlikely]] {
        // It returned with a cancel accepted and not raised yet, one that came while it waited
        // (a block on a worker it could not leave) or ran: it ends cancelled, as asyncio's tasks
        // do, so a cancel() that answered true is not silently lost. Its value goes with the
        // frame. An exception it ended with is kept (it says more); and a cancel that came
        // after its last wait had finished (f_late_cancel) leaves it its value: that result
        // arrived first.
        if (!t->has(promise_base::f_late_cancel) && t->m_exception == nullptr) {
            t->set(promise_base::f_cancelled);
        }
        // (f_late_cancel's bit is f_observed's from here on.)
        t->m_flags = static_cast<std::uint16_t>(
            t->m_flags & ~(promise_base::f_cancel_requested | promise_base::f_late_cancel));
    }
    if (t->has(promise_base::f_interrupt)) {
        take_interrupt(t); // thrown in, never raised (it ended first): dropped
    }
    t->m_waiter = nullptr;
    if (!state_of(t)->m_inherit.empty()) {
        forget_inherit(t);
    }
    if (t->has(promise_base::f_has_locals)) {
        // Its values go with its end, not its frame: a context it ran in is free again, even
        // for its done-callbacks.
        drop_locals(t);
        t->clear(promise_base::f_has_locals);
    }
    while (completion_node* n = t->m_completions) {
        remove_completion(t, n);
        n->m_fire(n, t);
    }
    state_of(t)->unregister_root(t);
    release_root(t); // the loop's reference
}

void unjoin_if_alone(promise_base* target) noexcept {
    if (completion_node* head = target->m_completions) {
        completion_node* n = head;
        do {
            // Every node but a facade's bookkeeping is someone waiting for the outcome.
            if (!n->bookkeeping()) {
                return;
            }
            n = n->m_next;
        } while (n != head);
    }
    target->clear(promise_base::f_joined);
}

namespace {
/// release_root()'s rare part: an exception nobody retrieved, task-local values, a name.
[[gnu::noinline]] void release_extras(promise_base* t) noexcept {
    if (t->m_exception && !t->has(promise_base::f_observed) && !t->has(promise_base::f_cancelled)) {
        report_unobserved_error(t->m_exception, root_name(t));
    }
    if (t->has(promise_base::f_has_locals)) {
        drop_locals(t);
    }
    if (t->has(promise_base::f_named)) {
        forget_name(t);
    }
}
} // namespace

void release_root(promise_base* t) noexcept {
    if (--t->m_refs != 0) {
        return;
    }
    if (t->m_exception || t->has(promise_base::f_has_locals) || t->has(promise_base::f_named))
        [[unlikely]] {
        release_extras(t);
    }
    t->m_destroy(t);
}

void loop_state::register_root(promise_base* t) noexcept {
    // Appended, so that stop() cancels tasks in the order they were created.
    m_registry.push_back(*t);
    ++m_live;
}

void loop_state::unregister_root(promise_base* t) noexcept {
    m_registry.erase(*t);
    t->m_reg_prev = t->m_reg_next = nullptr; // (a dropped task's state is copied with them)
    --m_live;
}

void spawn_root(loop_state& loop, promise_base* root, bool queue) {
    // Fast path: this thread drives the loop. Otherwise only an undriven loop may be fed.
    if (t_loop != &loop && (loop.m_driver.load(std::memory_order_relaxed) != std::thread::id{} ||
                            loop.m_background.load(std::memory_order_relaxed))) {
        root->m_destroy(root);
        throw usage_error("coven: create_task() called from a thread that does not drive the "
                          "loop; use event_loop::run() or call_soon_threadsafe()");
    }
    if (t_current_task != nullptr ? t_current_task->has(promise_base::f_has_locals)
                                  : has_thread_locals()) {
        try {
            inherit_locals(root);
        } catch (...) {
            root->m_destroy(root);
            throw;
        }
    }
    root->set(promise_base::f_root);
    root->m_loop = &loop;
    ++root->m_refs; // the loop's reference, dropped when the task ends
    loop.register_root(root);
    ++loop.m_spawned;
    if (queue) {
        loop.push_ready(root);
    }
}

void queue_root(promise_base* root) noexcept {
    state_of(root)->push_ready(root);
}

} // namespace coven::detail
