#pragma once
// coven::net::async_fd: waits until a non-blocking fd that the user owns is readable or
// writable, so that libraries which bring their own sockets (libcurl's multi interface, a
// database client) run on a coven loop (B4).

#include <coven/detail/fd_wait.hpp>

#include <cstdint>
#include <poll.h>

namespace coven::net {

/// Readiness of an fd coven does not own: the user keeps the fd, does the system calls and
/// closes it; coven only says when to try again.
///
/// The waits are level-triggered and hold no registration between them: readable() returns at
/// once if data is waiting now, and the fd may be closed whenever no task waits on it. Each wait
/// costs two epoll_ctl calls more than a coven socket's operations (which register their fd
/// once); use coven's sockets where you own the socket.
/// **Cancellation:** cancel-safe: a cancelled wait leaves nothing registered.
/// **Thread safety:** the loop's thread; one task waits to read and one to write at a time (a
/// second is a usage_error).
class async_fd {
public:
    /// Watches `fd` (which must stay open while a task waits on it; made non-blocking by the
    /// caller).
    explicit async_fd(int fd) noexcept : m_fd(fd) {}

    /// Waits until the fd is readable (or has hung up, or has an error); gives the poll(2)
    /// events seen (POLLIN, POLLHUP, POLLERR...). **Throws:** usage_error outside a task or
    /// for a second reader; coven::error when the engine refuses the fd (not open).
    [[nodiscard]] auto readable() const noexcept -> coven::detail::fd_wait_awaiter {
        return {m_fd, POLLIN};
    }
    /// Waits until the fd is writable (or has an error); gives the events seen.
    [[nodiscard]] auto writable() const noexcept -> coven::detail::fd_wait_awaiter {
        return {m_fd, POLLOUT};
    }
    [[nodiscard]] auto native_handle() const noexcept -> int { return m_fd; }

private:
    int m_fd;
};

} // namespace coven::net
