#pragma once
// Waiting for a root task to end: the one awaiter behind `co_await future` (and future::wait())
// and `co_await delayed_result`. The two differ only in what a cancel of the waiting task does,
// which is the policy:
//  - cascade (a future is running code): the awaited task is cancelled too, once, and the waiter
//    wakes when it has ended; a result that arrived despite the cancel is handed over;
//  - leave (a delayed result is a value that arrives late): the waiter just leaves.
// Either way an exception thrown into the waiting task ends the wait at once and leaves the
// awaited task be.

#include <coven/detail/kernel.hpp>
#include <coven/detail/promise_base.hpp>

#include <coroutine>

namespace coven::detail {

/// A root_wait's policy is a type with:
///  - `static constexpr bool cascade`: a cancel of the waiting task cancels the awaited one;
///  - `static constexpr const char* what`: the await's name in errors ("co_await future");
///  - `static constexpr const char* self_wait`: why awaiting one's own task is refused.
/// (Compile-time, so that the awaiter, which lives in every waiting frame, stays four words and
/// a flag besides its nodes.)
template <class Policy>
class root_wait : public waiter, public completion_node {
public:
    explicit root_wait(promise_base* target) noexcept : m_target(target) {}
    root_wait(const root_wait&) = delete;
    auto operator=(const root_wait&) -> root_wait& = delete;
    ~root_wait() {
        if (linked()) { // only when a suspended frame is destroyed at loop teardown
            remove_completion(m_target, this);
        }
    }

    [[nodiscard]] auto await_ready() const noexcept -> bool {
        return m_target->has(promise_base::f_done);
    }
    auto await_suspend(std::coroutine_handle<> h) -> bool {
        m_task = require_current_task(Policy::what);
        if (m_task == m_target) {
            throw_usage(Policy::self_wait);
        }
        require_loop_thread(m_target, Policy::what); // (a task of another loop)
        if (t_sync_depth != 0) {
            refuse_cross_loop_wait_in_sync_run(m_task, m_target, Policy::what);
        }
        if (cancel_pending(m_task)) {
            m_cancel_seen = true;
            return false;
        }
        if constexpr (Policy::cascade) {
            m_target->set(promise_base::f_joined); // its outcome is handled here: no bubbling
        }
        m_on_cancel = &cancelled;
        m_fire = [](completion_node* c, promise_base*) noexcept {
            wake(static_cast<root_wait*>(c)->m_task);
        };
        park(m_task, this, h);
        add_completion(m_target, this);
        return true;
    }

protected:
    /// cascade: throws the waiting task's own cancellation if it was cancelled while it waited
    /// and the awaited task did not finish anyway. A result (or an error) that arrived despite
    /// the cancel is handed over instead: it is never lost, and the cancellation, still
    /// pending, is raised by the next await. leave: throws it if the waiter left.
    void resume_or_throw_own_cancel() {
        if constexpr (Policy::cascade) {
            if (m_cancel_seen) {
                if (!m_target->has(promise_base::f_done) ||
                    m_target->has(promise_base::f_cancelled)) {
                    throw_cancelled(m_task);
                }
                // The awaited task answered the cancel with a result (as asyncio counts a
                // cancel passed on to the awaited task): this task keeps its value if it
                // returns before its next await, which still raises the cancel.
                if (m_task->has(promise_base::f_cancel_requested)) {
                    m_task->set(promise_base::f_late_cancel);
                }
            }
        } else if (m_cancel_seen) {
            throw_cancelled(m_task);
        }
    }

    promise_base* m_target;
    promise_base* m_task = nullptr;
    bool m_cancel_seen = false;

private:
    static auto cancelled(waiter* w, promise_base* task) noexcept -> cancel_result {
        auto* self = static_cast<root_wait*>(w);
        if (!Policy::cascade || interrupt_is_next(task)) {
            // The waiter leaves at once; the awaited task is left be.
            remove_completion(self->m_target, self);
            if constexpr (Policy::cascade) {
                unjoin_if_alone(self->m_target); // its failure may bubble again
            }
            self->m_cancel_seen = true;
            wake(task);
            return cancel_result::unlinked;
        }
        if (!self->m_cancel_seen) { // (after the first, the awaited task is cancelled once)
            self->m_cancel_seen = true;
            cancel_root(self->m_target);
        }
        return cancel_result::stays_parked; // it wakes us when it has ended
    }
};

} // namespace coven::detail
