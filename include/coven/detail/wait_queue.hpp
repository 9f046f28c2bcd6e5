#pragma once
// The cancel-aware wait queue every synchronisation primitive parks through (STYLE.md,
// "Awaitables"). A primitive's awaiter *is* the node: it lives in the waiting coroutine's frame,
// so waiting allocates nothing.
//
//   wait_queue: m_head --> [node] <--> [node] <--> [node] <-- m_tail      (FIFO: park at the tail)
//
// A node's life, and who moves it (all on the primitive's loop thread):
//
//   idle --park_back()--> parked --choose_front()--> chosen    (the primitive gave it something)
//                           |
//                           +--cancel / interrupt--> cancelled (unlinked by the waiter hook)
//
// A parked node is in the queue and its task parked in it. Choosing unlinks it and wakes the task;
// cancelling unlinks it and wakes the task. Both happen once, so a waiter is never woken twice and
// never lost. A node that was chosen but whose task was cancelled before it ran hands what it was
// given to the next waiter (the primitive's await_resume does that, then raises the
// cancellation). A frame destroyed while parked (loop teardown) unlinks its node; a queue
// destroyed while nodes wait in it wakes them, abandoned, and their awaits raise usage_error.

#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coven::detail {

class wait_queue;

struct wait_node : waiter {
    enum state : std::uint8_t { idle, parked, chosen, cancelled, abandoned };

    wait_node() noexcept = default;
    wait_node(const wait_node&) = delete;
    auto operator=(const wait_node&) -> wait_node& = delete;
    inline ~wait_node();

    wait_node* m_prev = nullptr;
    wait_node* m_next = nullptr;
    wait_queue* m_queue = nullptr;
    promise_base* m_task = nullptr;
    state m_state = idle;
};

class wait_queue {
public:
    wait_queue() noexcept = default;
    wait_queue(const wait_queue&) = delete;
    auto operator=(const wait_queue&) -> wait_queue& = delete;
    /// A primitive destroyed while tasks wait in it wakes them (abandoned): their await raises
    /// usage_error instead of hanging, and no node is left pointing at a freed queue.
    ~wait_queue() {
        while (wait_node* n = m_head) {
            unlink(*n);
            n->m_state = wait_node::abandoned;
            wake(n->m_task);
        }
    }

    [[nodiscard]] auto empty() const noexcept -> bool { return m_head == nullptr; }
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_size; }
    [[nodiscard]] auto front() const noexcept -> wait_node* { return m_head; }
    /// The loop of the tasks waiting here (null when none waits).
    [[nodiscard]] auto loop() const noexcept -> const loop_core* {
        return m_head ? m_head->m_task->m_loop : nullptr;
    }

    /// Appends `n` and parks `task` in it: the loop resumes `h` once `n` is chosen or cancelled.
    void park_back(wait_node& n, promise_base* task, std::coroutine_handle<> h) noexcept {
        n.m_task = task;
        n.m_queue = this;
        n.m_state = wait_node::parked;
        n.m_on_cancel = &cancelled;
        n.m_next = nullptr;
        n.m_prev = m_tail;
        (m_tail ? m_tail->m_next : m_head) = &n;
        m_tail = &n;
        ++m_size;
        park(task, &n, h);
    }

    /// Chooses the first waiter: unlinks it, marks it chosen and wakes its task. Null if none.
    auto choose_front() noexcept -> wait_node* {
        wait_node* n = m_head;
        if (n != nullptr) {
            unlink(*n);
            n->m_state = wait_node::chosen;
            wake(n->m_task);
        }
        return n;
    }

    /// Unlinks a parked node (it stays parked in its task until the caller wakes it).
    void unlink(wait_node& n) noexcept {
        (n.m_prev ? n.m_prev->m_next : m_head) = n.m_next;
        (n.m_next ? n.m_next->m_prev : m_tail) = n.m_prev;
        n.m_prev = n.m_next = nullptr;
        --m_size;
    }

private:
    static void cancelled(waiter* w, promise_base* task) noexcept {
        auto* n = static_cast<wait_node*>(w);
        n->m_queue->unlink(*n);
        n->m_state = wait_node::cancelled;
        wake(task);
    }

    wait_node* m_head = nullptr;
    wait_node* m_tail = nullptr;
    std::size_t m_size = 0;
};

inline wait_node::~wait_node() {
    if (m_state == parked) { // a suspended frame destroyed at loop teardown
        m_queue->unlink(*this);
    }
}

} // namespace coven::detail

namespace coven::detail {

/// The await_suspend() step every primitive shares: parks the calling task in `n` at the tail of
/// `q`, or (false) does not park when a cancellation is pending, marking `n` cancelled.
/// **Throws:** usage_error outside a task, or if tasks of another loop wait in `q`.
inline auto begin_wait(wait_node& n, wait_queue& q, std::coroutine_handle<> h, const char* what)
    -> bool {
    promise_base* task = require_current_task(what);
    if (const loop_core* other = q.loop(); other != nullptr && other != task->m_loop) {
        throw usage_error(std::string("coven: ") + what +
                          " from a task of another loop than the tasks waiting there; a "
                          "primitive serves the tasks of one loop at a time");
    }
    n.m_task = task;
    if (cancel_pending(task)) {
        n.m_state = wait_node::cancelled;
        return false;
    }
    q.park_back(n, task, h);
    return true;
}

/// The await_resume() step every primitive shares. A waiter that was cancelled raises
/// cancelled_error; one that was chosen but whose task was cancelled before it ran calls
/// `hand_on()` (what it was given passes to the next waiter), then raises; one whose primitive
/// was destroyed raises usage_error naming `what`.
template <class HandOn>
void finish_wait(wait_node& n, const char* what, HandOn&& hand_on) {
    switch (n.m_state) {
    case wait_node::cancelled:
        throw_cancelled(n.m_task);
    case wait_node::abandoned:
        throw usage_error(std::string("coven: ") + what +
                          " was destroyed while a task waited for it; keep it alive until its "
                          "waiters have left");
    case wait_node::chosen:
        if (cancel_pending(n.m_task)) {
            hand_on();
            throw_cancelled(n.m_task);
        }
        return;
    case wait_node::idle:
    case wait_node::parked:
        return;
    }
}

/// Throws usage_error unless the calling thread may wake the tasks waiting in `q` (it drives
/// their loop); `what` names the call.
inline void require_waker_thread(const wait_queue& q, const char* what) {
    if (const wait_node* n = q.front()) {
        require_loop_thread(n->m_task, what);
    }
}

} // namespace coven::detail
