#pragma once
// The cancel-aware wait queue every synchronisation primitive parks through (STYLE.md,
// "Awaitables"). A primitive's awaiter *is* the node: it lives in the waiting coroutine's frame,
// so waiting allocates nothing.
//
//   wait_queue: m_head --> [chosen] <--> [node] <--> [node] <-- m_tail     (FIFO: park at the tail)
//                                        ^ m_first_parked: the next to be chosen
//
// Chosen nodes whose awaits have not resumed yet stay at the head of the same list, so that
// choosing the first waiter moves a pointer instead of moving the node between two lists.
//
// A priority queue (serve_by_priority(); priority_lock, priority_condition) links each node by
// its task's priority instead, FIFO among equals; everything else is the same.
//
// A node's life, and who moves it (all on the primitive's loop thread):
//
//   idle --park_waiter()--> parked --choose_front()--> chosen    (the primitive gave it something)
//                           |
//                           +--cancel / interrupt--> cancelled (unlinked by the waiter hook)
//
//   parked --~wait_queue--> abandoned;  chosen --~wait_queue--> abandoned or released_orphan
//
// A parked node is in the queue and its task parked in it. Choosing marks it chosen (it stays in
// the list until its await resumes) and wakes the task; cancelling unlinks it and wakes the task.
// Both happen once, so a waiter is never woken twice and never lost. A node that was chosen but
// whose task was cancelled before it ran hands what it was given to the next waiter (the
// primitive's await_resume does that, then raises the cancellation); a latch or barrier waiter has
// nothing to hand on, so it succeeds and the cancellation stays pending (finish_release_wait()). A
// frame destroyed while parked (loop teardown) unlinks its node; a queue destroyed while nodes wait
// in it wakes them, abandoned, and their awaits raise usage_error. Chosen nodes of a destroyed
// queue become abandoned too, or released_orphan in a queue that release_orphans_on_destruction()
// marked (latch, barrier: their waiters succeed); finish_wait() treats released_orphan as
// abandoned.

#include <coven/detail/intrusive_list.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coven::detail {

class wait_queue;

struct wait_node : waiter {
    /// released_orphan: chosen, then the queue was destroyed before the waiter ran, in a queue
    /// marked by release_orphans_on_destruction(); elsewhere such a node is abandoned.
    enum state : std::uint8_t { idle, parked, chosen, cancelled, abandoned, released_orphan };

    wait_node() noexcept = default;
    wait_node(const wait_node&) = delete;
    auto operator=(const wait_node&) -> wait_node& = delete;
    inline ~wait_node();

    wait_node* m_prev = nullptr;
    wait_node* m_next = nullptr;
    wait_queue* m_queue = nullptr;
    promise_base* m_task = nullptr;
    state m_state = idle;
    /// Set by awaiters that owe nothing once unlinked (event, lock, semaphore and queue waits):
    /// a cancel hook then lets abort() drop the task instead of resuming it
    /// (cancel_result::unlinked_owes_nothing).
    bool m_drop_safe = false;
    std::int16_t m_key = 0; // a priority queue's order: the task's priority when it parked
};

/// The nodes of one queue, the chosen ones and then the waiting ones (detail/intrusive_list.hpp).
struct node_list : intrusive_list<wait_node, &wait_node::m_prev, &wait_node::m_next, true> {
    /// Links `n` after every parked node whose key is not greater, and after every node that is
    /// not parked (chosen ones come first): by key, FIFO among equals. The walk starts at the
    /// tail, so equal keys (the usual case) cost one step.
    void insert_by_key(wait_node& n) noexcept {
        wait_node* after = back();
        while (after != nullptr && after->m_state == wait_node::parked && after->m_key > n.m_key) {
            after = after->m_prev;
        }
        insert_after(after, n);
    }
};

class wait_queue {
public:
    wait_queue() noexcept = default;
    wait_queue(const wait_queue&) = delete;
    auto operator=(const wait_queue&) -> wait_queue& = delete;
    /// A primitive destroyed while tasks wait in it, or before a task it chose has run, marks
    /// their nodes abandoned (and wakes the waiting ones): their await raises usage_error
    /// instead of hanging or touching the freed primitive. In a queue marked by
    /// release_orphans_on_destruction(), the chosen ones become released_orphan instead.
    ~wait_queue() {
        const wait_node::state orphan =
            m_release_orphans ? wait_node::released_orphan : wait_node::abandoned;
        while (wait_node* n = m_nodes.pop_front()) {
            if (n->m_state == wait_node::parked) {
                n->m_state = wait_node::abandoned;
                wake(n->m_task);
            } else {
                n->m_state = orphan; // chosen: woken already
            }
        }
    }

    /// For a primitive whose chosen waiter has been given everything it waits for and has
    /// nothing to hand on, and whose await_resume touches only its own node (latch, barrier):
    /// when the queue is destroyed, its chosen nodes become released_orphan (their wait
    /// succeeded) instead of abandoned.
    void release_orphans_on_destruction() noexcept { m_release_orphans = true; }

    [[nodiscard]] auto empty() const noexcept -> bool { return m_first_parked == nullptr; }
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_parked; }
    /// The first waiter (the next to be chosen); the others follow through m_next, up to null.
    [[nodiscard]] auto front() const noexcept -> wait_node* { return m_first_parked; }
    /// Nodes chosen whose await has not resumed yet (their tasks are woken, not run).
    [[nodiscard]] auto chosen_size() const noexcept -> std::size_t {
        return m_nodes.size() - m_parked;
    }

    /// Binds the primitive to the loop of the calling task at its first use from a task; a task
    /// of another loop using it later is a usage_error naming `what` (asyncio binds its
    /// primitives the same way). Code outside tasks is not checked here: waking tasks checks the
    /// thread (require_waker_thread()).
    void check_loop(const char* what) {
        // The common case, a task of the bound loop, is one compare; binding is out of line.
        const promise_base* t = t_current_task;
        if (t != nullptr && m_loop != t->m_loop) [[unlikely]] {
            bind_or_refuse(t, what);
        }
    }

    /// The loop check_loop() bound the primitive to, or null.
    [[nodiscard]] auto bound_loop() const noexcept -> const loop_core* { return m_loop; }

    /// Once the primitive is bound to a loop (check_loop()), throws usage_error naming `what`
    /// unless the calling thread drives that loop: every call that changes the primitive must
    /// come from there. A task of that loop (the common case) costs one compare.
    void require_bound_thread(const char* what) const {
        if (m_loop != nullptr && (t_current_task == nullptr || t_current_task->m_loop != m_loop)) {
            require_loop_core_thread(m_loop, what);
        }
    }

    /// Links `n` (at the tail, or in a priority queue by the task's priority) and parks `task`
    /// in it: the loop resumes `h` once `n` is chosen or cancelled.
    void park_waiter(wait_node& n, promise_base* task, std::coroutine_handle<> h) noexcept {
        n.m_task = task;
        n.m_queue = this;
        n.m_state = wait_node::parked;
        n.m_on_cancel = &cancelled;
        if (m_by_priority) [[unlikely]] {
            park_by_priority(n, task, h);
            return;
        }
        m_nodes.push_back(n);
        if (m_first_parked == nullptr) {
            m_first_parked = &n;
        }
        ++m_parked;
        park(task, &n, h);
    }
    /// A priority queue: the waiter's priority changed to `key` (inheritance); it moves behind
    /// the waiters of that priority.
    void rekey(wait_node& n, std::int16_t key) noexcept {
        unlink_parked(n);
        n.m_key = key;
        insert_parked_by_key(n);
    }

    /// Makes this a priority queue (K20, K21): waiters are served by their task's priority
    /// (lower first), FIFO among equals. `on_park`, if set, is called when a waiter has parked;
    /// `on_leave` when one leaves without being chosen (cancelled, interrupted), after it was
    /// unlinked. (A priority_lock's inheritance hooks.)
    void serve_by_priority(void (*on_park)(wait_queue& q, wait_node& n) noexcept,
                           void (*on_leave)(wait_queue& q, wait_node& n) noexcept,
                           void* owner) noexcept {
        m_by_priority = true;
        m_on_park = on_park;
        m_on_leave = on_leave;
        m_owner = owner;
    }
    /// For a primitive that hands something to the waiter it chooses (a lock, a permit):
    /// `hand_on(owner)` passes it on when a chosen node's frame is destroyed before its await
    /// resumed (loop stop destroying tasks that ignored cancellation), as a cancelled waiter
    /// would, so that it is not lost with the frame. `owner` is the primitive (owner()).
    void hand_on_when_dropped(void (*hand_on)(void* owner) noexcept, void* owner) noexcept {
        m_hand_on = hand_on;
        m_owner = owner;
    }
    /// The primitive serve_by_priority() or hand_on_when_dropped() named.
    [[nodiscard]] auto owner() const noexcept -> void* { return m_owner; }

    /// Chooses the first waiter: marks it chosen and wakes its task. It stays in the queue
    /// until its await has resumed (taken()), so that a primitive destroyed meanwhile can tell
    /// it. Null if none waits.
    auto choose_front() noexcept -> wait_node* {
        wait_node* n = m_first_parked;
        if (n != nullptr) {
            // It stays where it is: the chosen nodes are the ones before m_first_parked.
            m_first_parked = n->m_next;
            --m_parked;
            n->m_state = wait_node::chosen;
            wake(n->m_task);
        }
        return n;
    }
    /// A chosen node's await resumed: it leaves the queue.
    void taken(wait_node& n) noexcept { m_nodes.erase(n); }

    /// The cancel hook of a node that a cancellation must leave parked (a condition waiter
    /// retaking its lock: it must hold it again before the cancellation propagates).
    static auto stays_parked(waiter*, promise_base*) noexcept -> cancel_result {
        return cancel_result::stays_parked;
    }

private:
    friend struct wait_node;
    /// park_waiter() of a priority queue; out of line, so that the FIFO path every primitive
    /// inlines stays as small as it was.
    [[gnu::noinline]] void park_by_priority(wait_node& n, promise_base* task,
                                            std::coroutine_handle<> h) noexcept {
        n.m_key = task->m_priority;
        insert_parked_by_key(n);
        park(task, &n, h);
        if (m_on_park != nullptr) {
            m_on_park(*this, n);
        }
    }
    /// check_loop()'s rare part: the first use from a task binds, a later one from another
    /// loop's task throws.
    [[gnu::noinline]] void bind_or_refuse(const promise_base* t, const char* what) {
        if (m_loop != nullptr) {
            throw_other_loop(what);
        }
        m_loop = t->m_loop;
    }
    [[noreturn]] static void throw_other_loop(const char* what) {
        throw usage_error(std::string("coven: ") + what +
                          " from a task of another loop than the one that first used it; a "
                          "primitive belongs to one loop: make one per loop");
    }
    /// Links parked `n` by key among the parked nodes (never before a chosen one).
    void insert_parked_by_key(wait_node& n) noexcept {
        m_nodes.insert_by_key(n);
        if (n.m_prev == nullptr || n.m_prev->m_state != wait_node::parked) {
            m_first_parked = &n; // first after the chosen ones
        }
        ++m_parked;
    }
    /// Unlinks a parked node.
    void unlink_parked(wait_node& n) noexcept {
        if (m_first_parked == &n) {
            m_first_parked = n.m_next;
        }
        m_nodes.erase(n);
        --m_parked;
    }
    static auto cancelled(waiter* w, promise_base* task) noexcept -> cancel_result {
        auto* n = static_cast<wait_node*>(w);
        wait_queue* q = n->m_queue;
        q->unlink_parked(*n);
        n->m_state = wait_node::cancelled;
        if (q->m_on_leave != nullptr) {
            q->m_on_leave(*q, *n);
        }
        wake(task);
        return n->m_drop_safe ? cancel_result::unlinked_owes_nothing : cancel_result::unlinked;
    }

    // One list: the chosen nodes (whose awaits have not resumed), then the parked ones from
    // m_first_parked on. Choosing the first waiter is then a step of m_first_parked, not an
    // unlink and a link into another list.
    node_list m_nodes;
    wait_node* m_first_parked = nullptr;
    std::size_t m_parked = 0;
    const loop_core* m_loop = nullptr;
    bool m_by_priority = false;
    bool m_release_orphans = false;
    void (*m_on_park)(wait_queue& q, wait_node& n) noexcept = nullptr;
    void (*m_on_leave)(wait_queue& q, wait_node& n) noexcept = nullptr;
    void* m_owner = nullptr;
    void (*m_hand_on)(void* owner) noexcept = nullptr;
};

/// For the destructor of an awaiter that holds what it was handed when chosen (a queue getter's
/// value), which ~wait_node() runs too late to reach: true if `n` was chosen and its frame is
/// being destroyed before its await resumed (loop stop destroying tasks that ignored
/// cancellation). `n` has then left its queue, and the awaiter must pass on what it was handed.
inline auto leave_chosen(wait_node& n) noexcept -> bool {
    if (n.m_state != wait_node::chosen) [[likely]] {
        return false;
    }
    n.m_queue->taken(n);
    n.m_state = wait_node::idle;
    return true;
}

inline wait_node::~wait_node() {
    // A suspended frame destroyed at loop teardown, before or after it was chosen.
    if (m_state == parked) {
        m_queue->unlink_parked(*this);
        if (m_queue->m_on_leave != nullptr) {
            m_queue->m_on_leave(*m_queue, *this);
        }
    } else if (m_state == chosen) {
        m_queue->m_nodes.erase(*this);
        if (m_queue->m_hand_on != nullptr) {
            m_queue->m_hand_on(m_queue->m_owner); // (see hand_on_when_dropped())
        }
    }
}

} // namespace coven::detail

namespace coven::detail {

inline auto begin_wait_of(promise_base* task, wait_node& n, wait_queue& q,
                          std::coroutine_handle<> h) noexcept -> bool;

/// The await_suspend() step every primitive shares: parks the calling task in `n` at the tail of
/// `q`, or (false) does not park when a cancellation is pending, marking `n` cancelled.
/// **Throws:** usage_error outside a task, or from a task of another loop than the primitive's.
/// `LoopChecked`: the awaiter's await_ready() has run check_loop() in this task already (it
/// tried the primitive's try_ form), so it is not repeated.
template <bool LoopChecked = false>
inline auto begin_wait(wait_node& n, wait_queue& q, std::coroutine_handle<> h, const char* what)
    -> bool {
    promise_base* task = require_current_task(what);
    if constexpr (!LoopChecked) {
        q.check_loop(what);
    }
    return begin_wait_of(task, n, q, h);
}

/// begin_wait() for an awaiter that has found the running task already (require_current_task())
/// and checked the loop.
inline auto begin_wait_of(promise_base* task, wait_node& n, wait_queue& q,
                          std::coroutine_handle<> h) noexcept -> bool {
    n.m_task = task;
    if (cancel_pending(task)) {
        n.m_state = wait_node::cancelled;
        return false;
    }
    q.park_waiter(n, task, h);
    return true;
}

/// Raises the usage_error of a wait whose primitive was destroyed under it, naming `what`.
[[noreturn]] inline void throw_abandoned(const char* what) {
    throw usage_error(std::string("coven: ") + what +
                      " was destroyed while a task waited for it; keep it alive until its "
                      "waiters have left");
}

/// The await_resume() step every primitive shares. A waiter that was cancelled raises
/// cancelled_error; one whose primitive was destroyed (abandoned, or released_orphan: the
/// primitive is gone either way) raises usage_error naming `what`. One that was chosen calls
/// `got()` (it has what it waited for; returns true), unless its task was cancelled before it
/// ran: then it calls `hand_on()` (what it was given passes to the next waiter) and raises.
/// False: it never waited (the awaiter found the primitive free).
/// `IdleFirst`: test first for the awaiter that never waited (a queue's put or get usually
/// finds room or a value); a lock, usually contended when it matters, passes false.
template <bool IdleFirst = true, class Got, class HandOn>
[[gnu::always_inline]] inline auto finish_wait(wait_node& n, const char* what, Got&& got,
                                               HandOn&& hand_on) -> bool {
    if constexpr (IdleFirst) {
        if (n.m_state == wait_node::idle) [[likely]] {
            return false;
        }
    }
    switch (n.m_state) {
    case wait_node::cancelled:
        throw_cancelled(n.m_task);
    case wait_node::abandoned:
    case wait_node::released_orphan: // (the primitive is gone: nothing to take or hand on)
        throw_abandoned(what);
    case wait_node::chosen:
        n.m_queue->taken(n);
        n.m_state = wait_node::idle;
        if (cancel_pending(n.m_task)) {
            hand_on();
            throw_cancelled(n.m_task);
        }
        got();
        return true;
    case wait_node::idle:
    case wait_node::parked:
        break;
    }
    return false;
}

/// The await_resume() step of a primitive that releases its waiters with nothing to hand on
/// (latch, barrier). A waiter that was cancelled (or interrupted) while it waited raises that;
/// one whose primitive was destroyed while it waited raises usage_error naming `what`. One that
/// was chosen has what it waited for, even if its primitive is gone by now (released_orphan) or
/// its task was cancelled or interrupted before it ran: that stays pending (not consumed) for
/// the task's next await, since raising here would say the wait did not happen. Touches only
/// `n` and, while the primitive lives, its queue. True if it waited; false: it never did.
[[gnu::always_inline]] inline auto finish_release_wait(wait_node& n, const char* what) -> bool {
    switch (n.m_state) {
    case wait_node::cancelled:
        throw_cancelled(n.m_task);
    case wait_node::abandoned:
        throw_abandoned(what);
    case wait_node::chosen:
        n.m_queue->taken(n);
        n.m_state = wait_node::idle;
        return true;
    case wait_node::released_orphan:
        n.m_state = wait_node::idle;
        return true;
    case wait_node::idle:
    case wait_node::parked:
        break;
    }
    return false;
}

/// Throws usage_error unless the calling thread may wake the tasks waiting in `q` (it drives
/// their loop); `what` names the call.
inline void require_waker_thread(const wait_queue& q, const char* what) {
    if (const wait_node* n = q.front()) {
        // A task of the waiters' loop runs on this thread: the common case, one compare.
        if (t_current_task == nullptr || t_current_task->m_loop != n->m_task->m_loop) {
            require_loop_thread(n->m_task, what);
        }
    }
}

} // namespace coven::detail
