#pragma once
// The core of coven's sockets: an fd that a coven object owns (owned_fd) and the awaiter of one
// operation on it (socket_op). An operation tries its system call first and parks only on
// EAGAIN; the loop's engine then reports readiness, and the completion retries the call on the
// loop's thread, so a task is woken only with a result (B4, docs/net.md).

#include <coven/detail/io_op.hpp>
#include <coven/detail/kernel.hpp>
#include <coven/detail/promise_base.hpp>

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <poll.h>
#include <string>
#include <utility>

namespace coven::detail {

class socket_op_base;

/// An fd that a coven socket owns: closed with it, counted (testing::live().fds), and
/// registered once with the loop of the first task that waits on it (attach_fd).
/// **Thread safety:** the loop's thread of the tasks that use it.
class owned_fd {
public:
    owned_fd() noexcept = default;
    /// Takes `fd` (counted from here on; -1: none).
    explicit owned_fd(int fd) noexcept;
    ~owned_fd() { close(); }
    /// Moves the fd, and any operation waiting on it, which follows to the new owner.
    owned_fd(owned_fd&& other) noexcept;
    auto operator=(owned_fd&& other) noexcept -> owned_fd&;
    owned_fd(const owned_fd&) = delete;
    auto operator=(const owned_fd&) -> owned_fd& = delete;

    [[nodiscard]] auto get() const noexcept -> int { return m_fd; }
    [[nodiscard]] auto is_open() const noexcept -> bool { return m_fd >= 0; }
    /// Closes the fd. An operation waiting on it ends with a system_error (EBADF, "the socket
    /// was closed"); the fd leaves the loop's engine first.
    void close() noexcept;
    /// Registers the fd with `task`'s loop, the first time. **Throws:** usage_error if it is
    /// registered with another loop; error when the engine refuses it.
    void attach_to(promise_base* task);

private:
    friend class socket_op_base;
    void take(owned_fd& other) noexcept;
    int m_fd = -1;
    loop_core* m_loop = nullptr;       // the loop it is registered with, if any
    socket_op_base* m_waiting[2] = {}; // the reader and the writer parked on it
};

/// The part of socket_op that does not depend on the system call.
class socket_op_base : protected waiter, protected io_op {
public:
    socket_op_base(const socket_op_base&) = delete;
    auto operator=(const socket_op_base&) -> socket_op_base& = delete;

protected:
    /// `dir`: 0 reads, 1 writes. `what`: the operation, for errors ("read from 127.0.0.1:80").
    socket_op_base(owned_fd& owner, int dir, const char* what) noexcept
        : m_owner(&owner), m_dir(dir), m_what(what) {}
    ~socket_op_base();

    /// Parks the awaiting task until the call can be retried; false when it must not wait (a
    /// cancellation is pending). `retry` runs on the loop's thread when the engine reports
    /// readiness: it returns false on EAGAIN (then it waits again).
    auto park_until_ready(std::coroutine_handle<> h, bool (*retry)(socket_op_base*) noexcept)
        -> bool;
    /// Raises what ended the wait: cancelled_error, or a system_error for a closed socket.
    void raise_if_interrupted() const;

    /// The owner's fd now (read at each attempt: a moved socket is followed).
    [[nodiscard]] auto owner_fd() const noexcept -> int { return m_owner->m_fd; }
    /// False when the engine knows the fd is not ready in this direction (see readiness_bit).
    [[nodiscard]] auto maybe_ready() const noexcept -> bool {
        const std::uint8_t want =
            m_dir == 0 ? ready_to_read | read_closed : ready_to_write | write_closed;
        return m_owner->m_loop == nullptr ||
               (fd_readiness(m_owner->m_loop, m_owner->m_fd) & want) != 0;
    }
    /// The call found the fd not ready (EAGAIN, or a short transfer).
    void note_not_ready() const noexcept {
        if (m_owner->m_loop != nullptr) {
            clear_fd_readiness(m_owner->m_loop, m_owner->m_fd, direction_bit());
        }
    }

    std::int64_t m_value = 0; // the call's result: >= 0, or -errno

private:
    friend class owned_fd;
    [[nodiscard]] auto direction_bit() const noexcept -> std::uint8_t {
        return m_dir == 0 ? ready_to_read : ready_to_write;
    }
    void closed_under() noexcept; // owned_fd::close() while parked
    void unlink() noexcept;

    owned_fd* m_owner;
    promise_base* m_task = nullptr;
    bool (*m_retry)(socket_op_base*) noexcept = nullptr;
    int m_dir;
    const char* m_what;
    bool m_cancel_seen = false;
    bool m_closed = false;
};

/// One system call on an owned fd as an awaitable: `Call` is `auto(int fd) noexcept ->
/// std::int64_t` (a result >= 0 or -errno), and may have `drained(result)`, true when the
/// result proves the fd has nothing more for now (a short read or write on a stream). Tried at
/// once, unless the engine says the fd is not ready (then it waits without the call that would
/// only say EAGAIN); parks on -EAGAIN and retries when the fd is ready. await_resume() gives the
/// result (never -EAGAIN).
/// **Cancellation:** a call that has not succeeded is given up; nothing was transferred.
template <class Call>
class [[nodiscard, gnu::warn_unused]] socket_op : public socket_op_base {
public:
    socket_op(owned_fd & owner, int dir, const char* what, Call call) noexcept
        : socket_op_base(owner, dir, what), m_call(std::move(call)) {}

    [[nodiscard]] auto await_ready() noexcept->bool {
        if (!maybe_ready()) {
            return false; // an edge will say when: no EAGAIN call to find it out
        }
        return attempt(this);
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        return park_until_ready(h, [](socket_op_base* base) noexcept {
            return attempt(static_cast<socket_op*>(base));
        });
    }
    auto await_resume()->std::int64_t {
        raise_if_interrupted();
        return m_value;
    }

private:
    /// Makes the call; false on EAGAIN. Tells the engine what it learnt about readiness.
    static auto attempt(socket_op * self) noexcept->bool {
        const std::int64_t r = self->m_call(self->owner_fd());
        self->m_value = r;
        if (r == -EAGAIN || r == -EWOULDBLOCK) {
            self->note_not_ready();
            return false;
        }
        if constexpr (requires { self->m_call.drained(r); }) {
            if (self->m_call.drained(r)) {
                self->note_not_ready();
            }
        }
        return true;
    }
    Call m_call;
};

} // namespace coven::detail
