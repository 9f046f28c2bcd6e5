#pragma once
// Waiting for an fd to be ready, on the running task's loop: the readiness half of every
// operation on a readiness engine (src/io/backend.hpp), and the first user of the I/O seam.

#include <coven/detail/io_op.hpp>
#include <coven/detail/kernel.hpp>
#include <coven/detail/promise_base.hpp>

#include <coroutine>
#include <cstdint>
#include <poll.h>

namespace coven::detail {

/// Awaits until `fd` has one of `events` (POLLIN or POLLOUT; POLLERR and POLLHUP always count)
/// and gives the events seen, as poll(2) spells them.
/// **Cancellation:** cancelling gives the operation up; an engine that lets go at once
/// (epoll) resumes the task with cancelled_error at once, one that holds the operation until
/// its completion resumes it then. Drop-safe for abort().
/// **Throws:** usage_error outside a task, or when another task already waits on the same fd in
/// the same direction; error when the engine refuses the fd (not open, not pollable).
class [[nodiscard, gnu::warn_unused]] fd_wait_awaiter : private waiter, private io_op {
public:
    fd_wait_awaiter(int fd, std::uint32_t events) noexcept {
        m_fd = fd;
        m_events = events;
    }
    fd_wait_awaiter(const fd_wait_awaiter&) = delete;
    auto operator=(const fd_wait_awaiter&)->fd_wait_awaiter& = delete;
    ~fd_wait_awaiter() {
        if (m_state == lifecycle::submitted) { // a suspended frame destroyed (loop stop, abort)
            (void)cancel_io(m_task->m_loop, *this);
        }
    }

    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = require_current_task("waiting for an fd");
        if (cancel_pending(m_task)) {
            m_cancel_seen = true;
            return false;
        }
        m_complete = [](io_op* op) noexcept {
            auto* self = static_cast<fd_wait_awaiter*>(op);
            if (self->m_cancelled) {
                self->m_cancel_seen = true;
            }
            wake(self->m_task);
        };
        m_on_cancel = [](waiter* w, promise_base* t) noexcept {
            auto* self = static_cast<fd_wait_awaiter*>(w);
            self->m_cancel_seen = true;
            if (cancel_io(t->m_loop, *self) == io_cancel_result::unlinked) {
                wake(t);
                return cancel_result::unlinked_owes_nothing;
            }
            return cancel_result::stays_parked; // the engine completes it later, and wakes it
        };
        start_io(m_task->m_loop, *this); // may throw: nothing is parked yet
        park(m_task, this, h);
        return true;
    }
    auto await_resume()->std::uint32_t {
        if (m_cancel_seen) {
            throw_cancelled(m_task);
        }
        return static_cast<std::uint32_t>(m_result);
    }

private:
    promise_base* m_task = nullptr;
    bool m_cancel_seen = false;
};

} // namespace coven::detail
