// owned_fd and socket_op: the core of coven's sockets (include/coven/detail/socket_op.hpp).

#include <coven/detail/accounting.hpp>
#include <coven/detail/socket_op.hpp>
#include <coven/error.hpp>

#include <cerrno>
#include <string>
#include <system_error>
#include <unistd.h>

namespace coven::detail {

owned_fd::owned_fd(int fd) noexcept : m_fd(fd) {
    if (fd >= 0) {
        count_add(counters().fds, 1);
    }
}

owned_fd::owned_fd(owned_fd&& other) noexcept {
    take(other);
}

auto owned_fd::operator=(owned_fd&& other) noexcept -> owned_fd& {
    if (this != &other) {
        close();
        take(other);
    }
    return *this;
}

void owned_fd::take(owned_fd& other) noexcept {
    m_fd = std::exchange(other.m_fd, -1);
    m_loop = std::exchange(other.m_loop, nullptr);
    for (int dir = 0; dir < 2; ++dir) {
        m_waiting[dir] = std::exchange(other.m_waiting[dir], nullptr);
        if (m_waiting[dir] != nullptr) {
            m_waiting[dir]->m_owner = this; // the parked operation follows the fd
        }
    }
}

void owned_fd::close() noexcept {
    if (m_fd < 0) {
        return;
    }
    for (socket_op_base* op : m_waiting) {
        if (op != nullptr) {
            op->closed_under();
        }
    }
    if (m_loop != nullptr) {
        detach_fd(m_loop, m_fd);
    }
    ::close(m_fd);
    count_add(counters().fds, -1);
    m_fd = -1;
    m_loop = nullptr;
}

void owned_fd::attach_to(promise_base* task) {
    if (m_loop == task->m_loop) {
        return;
    }
    if (m_loop != nullptr) {
        throw usage_error("coven: a socket belongs to the loop of the first task that waited on "
                          "it; this task runs on another loop (use the socket from one loop)");
    }
    attach_fd(task->m_loop, m_fd);
    m_loop = task->m_loop;
}

socket_op_base::~socket_op_base() {
    if (m_state == lifecycle::submitted) { // a frame destroyed while parked (stop, abort)
        (void)cancel_io(m_task->m_loop, *this);
        unlink();
    }
}

auto socket_op_base::park_until_ready(std::coroutine_handle<> h,
                                      bool (*retry)(socket_op_base*) noexcept) -> bool {
    m_task = require_current_task(m_what);
    if (cancel_pending(m_task)) {
        m_cancel_seen = true; // nothing was transferred: the first attempt found nothing
        return false;
    }
    if (m_owner->m_waiting[m_dir] != nullptr) {
        throw usage_error(std::string("coven: ") + m_what + ": another task already waits to " +
                          (m_dir == 0 ? "read from" : "write to") +
                          " this socket; one reader and one writer at a time");
    }
    m_owner->attach_to(m_task);
    m_retry = retry;
    io_op::m_fd = m_owner->m_fd;
    m_events = m_dir == 0 ? POLLIN : POLLOUT;
    m_complete = [](io_op* op) noexcept {
        auto* self = static_cast<socket_op_base*>(op);
        if (!self->m_retry(self)) {
            try {
                start_io(self->m_task->m_loop, *self); // an attached fd: no system call
                return;
            } catch (...) {
                self->m_value = -EIO;
            }
        }
        self->unlink();
        wake(self->m_task);
    };
    m_on_cancel = [](waiter* w, promise_base* task) noexcept {
        auto* self = static_cast<socket_op_base*>(w);
        (void)cancel_io(task->m_loop, *self); // readiness only: always let go at once
        self->unlink();
        self->m_cancel_seen = true;
        wake(task);
        return cancel_result::unlinked_owes_nothing;
    };
    start_io(m_task->m_loop, *this); // may throw: nothing is parked yet
    m_owner->m_waiting[m_dir] = this;
    park(m_task, this, h);
    return true;
}

void socket_op_base::raise_if_interrupted() const {
    if (m_cancel_seen) {
        throw_cancelled(m_task);
    }
    if (m_closed) {
        throw std::system_error(EBADF, std::generic_category(),
                                std::string(m_what) + ": the socket was closed while it waited");
    }
}

void socket_op_base::closed_under() noexcept {
    (void)cancel_io(m_task->m_loop, *this);
    unlink();
    m_closed = true;
    wake(m_task);
}

void socket_op_base::unlink() noexcept {
    if (m_owner->m_waiting[m_dir] == this) {
        m_owner->m_waiting[m_dir] = nullptr;
    }
}

} // namespace coven::detail
