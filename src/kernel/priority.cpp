// Task priorities (K18) and priority inheritance through priority locks (K22).
//
// A root's m_priority is its *effective* priority: what a priority loop sorts by and what a
// priority queue of waiters orders by. Most tasks never take part in inheritance and have no
// record: their own priority is m_priority. A task that waits in a priority_lock, or holds one
// that others wait for, has an inherit_record in its loop, which keeps its own priority (base),
// the locks it holds that have waiters, and the lock it waits in. Then
//
//   effective(task) = min(base, min over held locks L of effective(first waiter of L))
//
// and a lock's waiters are sorted by their effective priority, so the first waiter is the most
// urgent one. propagate() recomputes a task's effective priority after something changed and,
// when it did change, moves the task in the ready queue and in the lock it waits in, then goes
// on to that lock's holder: a chain of holders is boosted (or relieved) link by link.
//
// The records allocate, and the kernel calls here cannot fail halfway without losing a wake-up,
// so running out of memory here ends the program (noexcept).

#include "loop_state.hpp"

#include <coven/lock.hpp>
#include <coven/priority.hpp>

#include <algorithm>
#include <limits>
#include <string>

namespace coven {
namespace detail {
namespace {

/// Long enough for any real chain of holders; it ends the walk if locks wait on each other in a
/// cycle (a deadlock the program has anyway).
constexpr int max_chain = 1024;

auto record(loop_state& s, promise_base* t) -> inherit_record& {
    auto [it, added] = s.m_inherit.try_emplace(t);
    if (added) {
        it->second.base = t->m_priority;
    }
    return it->second;
}

/// Sets `t`'s effective priority, moving it in a priority loop's ready queue.
void set_effective(loop_state& s, promise_base* t, std::int16_t value) noexcept {
    const std::int16_t old = t->m_priority;
    t->m_priority = value;
    if (s.m_prioritized && t->has(promise_base::f_scheduled)) {
        s.requeue_prioritized(t, old);
    }
}

void propagate(loop_state& s, promise_base* t) noexcept {
    for (int hop = 0; t != nullptr && hop < max_chain; ++hop) {
        auto it = s.m_inherit.find(t);
        if (it == s.m_inherit.end()) {
            return; // no record: its own priority is its effective one already
        }
        inherit_record& r = it->second;
        std::int16_t value = r.base;
        for (lock* l : r.held) {
            if (const wait_node* first = inherit_engine::waiters(*l).front()) {
                value = std::min(value, first->m_task->m_priority);
            }
        }
        if (value == t->m_priority) {
            return;
        }
        set_effective(s, t, value);
        if (r.waiting_on == nullptr) {
            return;
        }
        inherit_engine::waiters(*r.waiting_on).rekey(*r.node, value);
        t = inherit_engine::owner(*r.waiting_on);
    }
}

/// `t` no longer waits in a priority lock (chosen, left, or the lock went).
void stop_waiting(loop_state& s, const promise_base* t) noexcept {
    if (auto it = s.m_inherit.find(t); it != s.m_inherit.end()) {
        it->second.waiting_on = nullptr;
        it->second.node = nullptr;
    }
}

/// Drops `t`'s record once it neither waits nor holds a lock with waiters.
void maybe_drop(loop_state& s, promise_base* t) noexcept {
    auto it = s.m_inherit.find(t);
    if (it == s.m_inherit.end() || it->second.waiting_on != nullptr || !it->second.held.empty()) {
        return;
    }
    const std::int16_t base = it->second.base;
    s.m_inherit.erase(it);
    if (t->m_priority != base) {
        set_effective(s, t, base);
    }
}

void drop_held(loop_state& s, promise_base* holder, lock* l) noexcept {
    auto it = s.m_inherit.find(holder);
    if (it == s.m_inherit.end()) {
        return;
    }
    std::erase(it->second.held, l);
    propagate(s, holder);
    maybe_drop(s, holder);
}

void add_held(loop_state& s, promise_base* holder, lock* l) {
    auto& held = record(s, holder).held;
    if (std::find(held.begin(), held.end(), l) == held.end()) {
        held.push_back(l);
    }
}

auto checked(int value) -> std::int16_t {
    if (value < std::numeric_limits<std::int16_t>::min() ||
        value > std::numeric_limits<std::int16_t>::max()) {
        throw usage_error("coven: set_priority() with " + std::to_string(value) +
                          ", outside [-32768, 32767]; use coven::priority::high, normal, low or "
                          "a value in that range");
    }
    return static_cast<std::int16_t>(value);
}

} // namespace

auto inherit_engine::owner(const lock& l) noexcept -> promise_base* {
    // A holder that has ended (the lock keeps its frame alive) inherits nothing.
    if (!l.m_locked || l.m_owner == nullptr || l.m_owner->has(promise_base::f_done)) {
        return nullptr;
    }
    return l.m_owner;
}

auto inherit_engine::waiters(lock& l) noexcept -> wait_queue& {
    return l.m_waiters;
}

void inherit_engine::parked(wait_queue& q, wait_node& n) noexcept {
    lock& l = *static_cast<lock*>(q.owner());
    loop_state& s = *state_of(n.m_task);
    inherit_record& r = record(s, n.m_task);
    r.waiting_on = &l;
    r.node = &n;
    if (promise_base* holder = owner(l)) {
        add_held(s, holder, &l);
        propagate(s, holder);
    }
}

void inherit_engine::left(wait_queue& q, wait_node& n) noexcept {
    lock& l = *static_cast<lock*>(q.owner());
    loop_state& s = *state_of(n.m_task);
    stop_waiting(s, n.m_task);
    maybe_drop(s, n.m_task);
    if (promise_base* holder = owner(l)) {
        if (q.empty()) {
            drop_held(s, holder, &l);
        } else {
            propagate(s, holder); // its most urgent waiter may have been the one that left
        }
    }
}

void inherit_engine::handed(lock& l, promise_base* from, promise_base* to) noexcept {
    loop_state& s = *state_of(to);
    stop_waiting(s, to);
    drop_held(s, from, &l);
    if (!l.m_waiters.empty()) {
        add_held(s, to, &l);
    }
    propagate(s, to);
    maybe_drop(s, to);
}

void inherit_engine::gone(lock& l) noexcept {
    // The waiters are about to be told the lock is gone (wait_queue's destructor): their
    // records, and the holder's, forget it first.
    loop_state* s = nullptr;
    for (wait_node* n = l.m_waiters.front(); n != nullptr; n = n->m_next) {
        s = state_of(n->m_task);
        stop_waiting(*s, n->m_task);
        maybe_drop(*s, n->m_task);
    }
    if (promise_base* holder = owner(l); holder != nullptr && s != nullptr) {
        drop_held(*s, holder, &l);
    }
}

void forget_inherit(promise_base* root) noexcept {
    loop_state& s = *state_of(root);
    auto it = s.m_inherit.find(root);
    if (it == s.m_inherit.end()) {
        return;
    }
    // A task that ends holding a priority lock (its waiters wait until the lock is handed on by
    // whoever has the guard) takes its record with it and goes back to its own priority; one
    // destroyed while it waits (loop teardown) was unlinked by its node already.
    root->m_priority = it->second.base;
    s.m_inherit.erase(it);
}

} // namespace detail

void set_priority(const any_future& task, int value) {
    detail::promise_base* t = &task.get();
    detail::require_loop_thread(t, "set_priority()");
    const std::int16_t v = detail::checked(value);
    detail::loop_state& s = *detail::state_of(t);
    if (auto it = s.m_inherit.find(t); it != s.m_inherit.end()) {
        it->second.base = v;
        detail::propagate(s, t);
        return;
    }
    if (t->m_priority != v) {
        detail::set_effective(s, t, v);
    }
}

auto get_priority(const any_future& task) -> int {
    const detail::promise_base* t = &task.get();
    detail::require_loop_thread(t, "get_priority()");
    const detail::loop_state& s = *detail::state_of(t);
    auto it = s.m_inherit.find(t);
    return it == s.m_inherit.end() ? t->m_priority : it->second.base;
}

auto effective_priority(const any_future& task) -> int {
    detail::require_loop_thread(&task.get(), "effective_priority()");
    return task.get().m_priority;
}

} // namespace coven
