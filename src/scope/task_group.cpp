// task_group (S7): a tracker of futures. Each added task gets a group_node, a completion node
// holding a reference, so its end moves it to the done list (in completion order) and wakes the
// waiters it satisfies. A waiter's result is decided when it is woken, so that two wait_next()
// callers never get the same future and none gets an early "empty".

#include <coven/detail/kernel.hpp>

#include <coven/task_group.hpp>

#include <string>

namespace coven::detail {

void group_node_dropped(completion_node* c, promise_base* t) noexcept;

/// A group's record of a task (loop stop makes the group forget a stuck task, dropping the
/// group's reference).
struct group_node : bookkeeping_node {
    group_node() noexcept : bookkeeping_node(&group_node_dropped) {}
    task_group* m_group = nullptr;
    promise_base* m_task = nullptr; // null once loop stop destroyed the task (dropped)
};

auto is_group_node(const completion_node* c) noexcept -> bool;
void group_node_dropped(completion_node* c, promise_base* t) noexcept;

struct task_group_kernel {
    using awaiter = task_group::wait_awaiter;

    static auto failed(const promise_base* t) noexcept -> bool {
        return t->has(promise_base::f_cancelled) || t->m_exception != nullptr;
    }

    /// Decides w's result if its condition holds now; false if it must wait.
    static auto try_complete(task_group& g, awaiter& w) noexcept -> bool {
        const bool all_done = g.m_done.size() == g.m_nodes.size();
        switch (w.m_kind) {
        case awaiter::kind::all:
            return all_done;
        case awaiter::kind::first:
            if (!g.m_done.empty()) {
                w.m_result.emplace(any_future(g.m_done.front()->m_task));
                return true;
            }
            return all_done; // an empty group
        case awaiter::kind::next:
            if (g.m_next_unhanded < g.m_done.size()) {
                w.m_result.emplace(any_future(g.m_done[g.m_next_unhanded++]->m_task));
                return true;
            }
            return all_done;
        case awaiter::kind::exception:
            for (group_node* n : g.m_done) {
                if (failed(n->m_task)) {
                    w.m_result.emplace(any_future(n->m_task));
                    return true;
                }
            }
            return all_done;
        }
        return false;
    }

    static void unlink(task_group& g, awaiter* w) noexcept {
        g.m_waiters.erase(*w);
        w->m_parked = false;
    }

    static void ended(completion_node* c, promise_base*) noexcept {
        auto* n = static_cast<group_node*>(c);
        task_group& g = *n->m_group;
        g.m_done.push_back(n); // capacity reserved when it was added
        g.m_waiters.for_each([&g](awaiter& w) {
            if (try_complete(g, w)) {
                unlink(g, &w);
                wake(w.m_task);
            }
        });
    }

    static void check_thread(const task_group& g, const char* what) {
        if (!g.m_loop->in_loop_thread() && g.m_loop->is_running()) {
            throw usage_error(std::string("coven: ") + what +
                              " from a thread that does not drive the group's loop");
        }
    }

    static auto waiter_cancelled(waiter* base, promise_base* t) noexcept -> cancel_result {
        auto* w = static_cast<awaiter*>(base);
        w->m_cancel_seen = true;
        unlink(*w->m_group, w);
        wake(t);
        return cancel_result::unlinked;
    }
};

auto is_group_node(const completion_node* c) noexcept -> bool {
    return c->m_fire == &task_group_kernel::ended;
}

void group_node_dropped(completion_node* c, promise_base* t) noexcept {
    // Loop stop destroys the task: the group forgets it (it never completes for its waiters,
    // which are stuck too) and drops its reference.
    static_cast<group_node*>(c)->m_task = nullptr;
    --t->m_refs;
}

} // namespace coven::detail

namespace coven {

using detail::task_group_kernel;

auto any_future::cancel() -> bool {
    if (get().has(detail::promise_base::f_done)) {
        return false; // an ended task needs no loop (which may be gone)
    }
    detail::require_loop_thread(&get(), "any_future::cancel()");
    return detail::cancel_root(&get());
}

auto any_future::abort() -> bool {
    if (get().has(detail::promise_base::f_done)) {
        return false; // an ended task needs no loop (which may be gone)
    }
    detail::require_loop_thread(&get(), "any_future::abort()");
    return detail::abort_root(&get());
}

auto any_future::exception() const -> std::exception_ptr {
    auto& p = get();
    if (!p.has(detail::promise_base::f_done)) {
        detail::throw_usage("any_future::exception() before the task ended; wait for it first");
    }
    if (p.has(detail::promise_base::f_cancelled)) {
        if (p.has(detail::promise_base::f_timed_out)) {
            detail::throw_root_timeout(&p);
        }
        throw cancelled_error();
    }
    p.set(detail::promise_base::f_observed);
    return p.m_exception;
}

task_group::task_group() : m_loop(current_loop()) {
    if (!m_loop) {
        detail::throw_usage("task_group made outside a loop thread; pass the loop: "
                            "task_group(loop)");
    }
}

task_group::~task_group() {
    for (detail::group_node* n : m_nodes) {
        if (n->m_task) {
            if (n->linked()) {
                detail::remove_completion(n->m_task, n);
            }
            detail::release_root(n->m_task);
        }
        delete n;
    }
    while (wait_awaiter* w = m_waiters.pop_front()) {
        w->m_parked = false;
        w->m_group_destroyed = true;
        detail::wake(w->m_task);
    }
}

void task_group::add(detail::promise_base* p) {
    if (p->m_loop != detail::loop_core_of(*m_loop)) {
        detail::throw_usage("task_group::add_future() with a task of another loop");
    }
    detail::require_loop_thread(p, "task_group::add_future()");
    auto* n = new detail::group_node();
    try {
        m_nodes.reserve(m_nodes.size() + 1);
        m_done.reserve(m_nodes.size() + 1); // ended() must not allocate
    } catch (...) {
        delete n;
        throw;
    }
    n->m_group = this;
    n->m_task = p;
    n->m_fire = &task_group_kernel::ended;
    ++p->m_refs;
    m_nodes.push_back(n);
    if (p->has(detail::promise_base::f_done)) {
        task_group_kernel::ended(n, p); // already over: done at once
    } else {
        detail::add_completion(p, n);
    }
}

auto task_group::cancel_all() -> std::size_t {
    task_group_kernel::check_thread(*this, "task_group::cancel_all()");
    std::size_t asked = 0;
    for (detail::group_node* n : m_nodes) {
        if (n->m_task && !n->m_task->has(detail::promise_base::f_done)) {
            asked += detail::cancel_root(n->m_task) ? 1 : 0;
        }
    }
    return asked;
}

auto task_group::done() const -> std::vector<any_future> {
    task_group_kernel::check_thread(*this, "task_group::done()");
    std::vector<any_future> out;
    out.reserve(m_done.size());
    for (detail::group_node* n : m_done) {
        out.push_back(any_future(n->m_task));
    }
    return out;
}

auto task_group::pending() const -> std::vector<any_future> {
    task_group_kernel::check_thread(*this, "task_group::pending()");
    std::vector<any_future> out;
    for (detail::group_node* n : m_nodes) {
        if (n->m_task && !n->m_task->has(detail::promise_base::f_done)) {
            out.push_back(any_future(n->m_task));
        }
    }
    return out;
}

// ---------------------------------------------------------------- wait_awaiter

task_group::wait_awaiter::~wait_awaiter() {
    if (m_parked) { // a frame destroyed while waiting (loop teardown)
        task_group_kernel::unlink(*m_group, this);
    }
}

auto task_group::wait_awaiter::await_ready() noexcept -> bool {
    return task_group_kernel::try_complete(*m_group, *this);
}

auto task_group::wait_awaiter::await_suspend(std::coroutine_handle<> h) -> bool {
    m_task = detail::require_current_task("co_await task_group");
    if (m_task->m_loop != detail::loop_core_of(*m_group->m_loop)) {
        detail::throw_usage("co_await on a task_group of another loop; wait on it from a task "
                            "of its own loop");
    }
    if (detail::cancel_pending(m_task)) {
        m_cancel_seen = true;
        return false;
    }
    m_on_cancel = &task_group_kernel::waiter_cancelled;
    detail::park(m_task, this, h);
    m_group->m_waiters.push_back(*this);
    m_parked = true;
    return true;
}

auto task_group::wait_awaiter::await_resume() -> std::optional<any_future> {
    if (m_group_destroyed) {
        detail::throw_usage("a task_group was destroyed while a task waited on it");
    }
    if (m_cancel_seen) {
        detail::throw_cancelled(m_task);
    }
    return std::move(m_result);
}

} // namespace coven
