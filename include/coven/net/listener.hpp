#pragma once
// coven::net::listener: a listening stream socket (TCP or Unix) that accepts connections (B4).

#include <coven/detail/socket_op.hpp>
#include <coven/net/address.hpp>
#include <coven/net/stream.hpp>

#include <cerrno>
#include <cstdint>
#include <sys/socket.h>

namespace coven::net {

class listener;

/// How listener::bind() sets the socket up.
struct listener_options {
    /// listen()'s backlog: connections the kernel completes before accept() takes them.
    int backlog = 511;
    /// SO_REUSEADDR (TCP): bind again at once to a port a previous run left in TIME_WAIT.
    bool reuse_address = true;
    /// SO_REUSEPORT: several sockets (loops, processes) listen on one port; the kernel spreads
    /// the connections among them.
    bool reuse_port = false;
};

/// A connection accept() took: the stream and the peer's address.
struct accepted {
    stream connection;
    address peer;
};

namespace detail {
struct accept_call {
    sockaddr_storage* peer;
    socklen_t* size;
    auto operator()(int fd) const noexcept -> std::int64_t {
        *size = sizeof(sockaddr_storage);
        const int c =
            ::accept4(fd, reinterpret_cast<sockaddr*>(peer), size, SOCK_NONBLOCK | SOCK_CLOEXEC);
        return c >= 0 ? c : -errno;
    }
};
class [[nodiscard, gnu::warn_unused]] accept_awaiter
    : public coven::detail::socket_op<accept_call> {
public:
    accept_awaiter(listener & l, coven::detail::owned_fd & fd) noexcept
        : coven::detail::socket_op<accept_call>(fd, 0, "accept on", accept_call{&m_peer, &m_size}),
          m_listener(&l) {}
    auto await_resume()->accepted;

private:
    listener* m_listener;
    sockaddr_storage m_peer{};
    socklen_t m_size = 0;
};
} // namespace detail

/// A listening socket. Move-only; closes its fd when destroyed.
/// **Cancellation:** accept() is cancel-safe: a cancelled accept took no connection (one the
/// kernel completed meanwhile waits for the next accept()).
/// **Errors:** system_error naming the operation and the address ("bind to 127.0.0.1:80:
/// Permission denied"). accept() raises EMFILE/ENFILE when the process is out of fds: the
/// listener stays usable, so an accept loop should back off (sleep) and go on.
/// **Thread safety:** the loop's thread; one task accepts at a time.
class listener {
public:
    listener() noexcept = default;
    /// Binds to `at` and listens. Port 0 lets the system pick one: local_address() says which.
    /// A Unix path must not exist yet. **Throws:** system_error; address_error for kind none.
    static auto bind(const address& at, listener_options options = {}) -> listener;

    /// Waits for the next connection.
    auto accept() -> detail::accept_awaiter { return {*this, m_fd}; }

    /// The bound address (with the port the system picked). **Throws:** system_error.
    [[nodiscard]] auto local_address() const -> address;
    /// Closes the socket (idempotent); a task waiting in accept() raises system_error(EBADF).
    void close() noexcept { m_fd.close(); }
    [[nodiscard]] auto is_open() const noexcept -> bool { return m_fd.is_open(); }
    [[nodiscard]] auto native_handle() const noexcept -> int { return m_fd.get(); }

    /// Raises `err` as a system_error: "<what> <local address>: <strerror>".
    [[noreturn]] void raise(int err, const char* what) const;

private:
    explicit listener(int fd) noexcept : m_fd(fd) {}
    coven::detail::owned_fd m_fd;
    std::string m_text; // the bound address's text, for error messages
};

} // namespace coven::net
