// Scheduling control (K11-K14, K16, K17): the checks and the queue moves behind
// include/coven/scheduling.hpp and event_loop's queue primitives.

#include "loop_state.hpp"

#include <coven/scheduling.hpp>
#include <coven/yield.hpp>

#include <string>

namespace coven {
namespace detail {
namespace {

/// Where queue_find(..., remove = true) parks a task it took out of the queue: blocked, in a
/// waiter that a cancel can reach, until insert_ready() puts it back.
auto detached_cancelled(waiter* /*self*/, promise_base* task) noexcept -> cancel_result {
    wake(task); // back in the queue: the await it suspended in raises the cancellation
    return cancel_result::unlinked;
}
waiter g_detached{&detached_cancelled};

auto loop_of_caller(event_loop* loop, const char* what) -> loop_state& {
    if (loop == nullptr) {
        loop = current_loop();
        if (loop == nullptr) {
            throw usage_error(std::string("coven: ") + what +
                              " outside a loop; pass the loop, or call it from one of its tasks");
        }
    }
    loop_state& s = loop_state_of(*loop);
    require_driving(s, what);
    return s;
}

auto is_blocked(const promise_base* t) noexcept -> bool {
    return !t->has(promise_base::f_done) && t->parked_waiter() != nullptr;
}

auto collect(loop_state& s, bool (*keep)(const promise_base*)) -> std::vector<any_future> {
    std::vector<any_future> out;
    for (promise_base* t = s.m_registry.front(); t; t = t->m_reg_next) {
        if (keep(t)) {
            out.push_back(make_any_future(t));
        }
    }
    return out;
}

/// Queues `t`, which is ready or was detached by queue_find(), at `pos`.
void place(loop_state& s, promise_base* t, std::size_t pos, const char* what) {
    require_loop_thread(t, what);
    if (t->has(promise_base::f_scheduled)) {
        s.unqueue(t);
    } else if (t->has(promise_base::f_done) || t->m_waiter != &g_detached) {
        throw usage_error(std::string("coven: ") + what +
                          " on a task that is not runnable (it waits, runs or has ended); only a "
                          "task in the ready queue can be moved in it");
    } else {
        t->m_waiter = nullptr; // leaves the detached waiter
        waiter_count_add(-1);
    }
    s.insert_ready_at(pos, t);
}

} // namespace

void requeue_at(promise_base* task, std::coroutine_handle<> h, std::size_t pos) noexcept {
    task->m_resume = h;
    state_of(task)->insert_ready_at(pos, task);
}

auto switch_to(promise_base* self, promise_base* target, std::coroutine_handle<> h,
               std::optional<std::size_t> insert_pos) -> bool {
    if (target == self) {
        throw_usage("task_switch() to the calling task itself; name another task");
    }
    if (target->m_loop != self->m_loop) {
        throw_usage("task_switch() to a task of another loop; a task can only switch to a task "
                    "of its own loop");
    }
    if (!target->has(promise_base::f_scheduled)) {
        throw_usage("task_switch() to a task that is not runnable (it waits, runs or has "
                    "ended); only a task in the ready queue can run next");
    }
    if (cancel_pending(self)) {
        return false; // await_resume raises it; nothing moved
    }
    loop_state* s = state_of(self);
    s->unqueue(target);
    s->insert_ready_at(0, target);
    if (insert_pos) {
        requeue_at(self, h, *insert_pos);
    } else {
        requeue(self, h);
    }
    return true;
}

void check_queue_thread(loop_state& loop, const char* what) {
    loop_of_caller(loop.m_self, what);
}

auto ready_len(loop_state& loop) -> std::size_t {
    loop_of_caller(loop.m_self, "event_loop::queue_len()");
    return loop.ready_count();
}

auto find_ready(loop_state& loop, bool (*key)(void* ctx, const any_future& task), void* ctx,
                bool remove) -> any_future {
    loop_of_caller(loop.m_self, "event_loop::queue_find()");
    std::vector<any_future> ready;
    loop.for_each_ready([&ready](promise_base* t) { ready.push_back(make_any_future(t)); });
    for (auto& f : ready) { // the key may run any code: it sees a snapshot
        if (!key(ctx, f)) {
            continue;
        }
        promise_base* t = &f.get();
        if (remove && loop.unqueue(t)) {
            park(t, &g_detached, t->m_resume);
            if (cancel_pending(t)) {
                wake(t); // a cancel that queued it (or came from the key) must still arrive
            }
        }
        return f;
    }
    return {};
}

void insert_ready(loop_state& loop, std::size_t pos, const any_future& task, const char* what) {
    promise_base* t = &task.get();
    if (t->m_loop != &loop) {
        throw usage_error(std::string("coven: ") + what +
                          " with a task of another loop; use that task's loop");
    }
    place(loop, t, pos, what);
}

} // namespace detail

void task_reinsert(const any_future& task, std::size_t pos) {
    detail::promise_base* t = &task.get();
    // First: a task that was never spawned has no loop to follow.
    detail::require_loop_thread(t, "task_reinsert()");
    detail::place(*detail::state_of(t), t, pos, "task_reinsert()");
}

auto task_is_blocked(const any_future& task) -> bool {
    detail::require_loop_thread(&task.get(), "task_is_blocked()");
    return detail::is_blocked(&task.get());
}

auto task_is_runnable(const any_future& task) -> bool {
    detail::require_loop_thread(&task.get(), "task_is_runnable()");
    return task.get().has(detail::promise_base::f_scheduled);
}

auto runnable_tasks(event_loop* loop) -> std::vector<any_future> {
    auto& s = detail::loop_of_caller(loop, "runnable_tasks()");
    std::vector<any_future> out;
    s.for_each_ready(
        [&out](detail::promise_base* t) { out.push_back(detail::make_any_future(t)); });
    return out;
}

auto blocked_tasks(event_loop* loop) -> std::vector<any_future> {
    return detail::collect(detail::loop_of_caller(loop, "blocked_tasks()"), &detail::is_blocked);
}

auto all_tasks(event_loop* loop) -> std::vector<any_future> {
    return detail::collect(detail::loop_of_caller(loop, "all_tasks()"),
                           [](const detail::promise_base*) { return true; });
}

auto current_task() -> any_future {
    return detail::t_current_task ? detail::make_any_future(detail::t_current_task) : any_future();
}

} // namespace coven
