#pragma once
// coven::net::stream: a connected stream socket (TCP, or Unix), and socketpair() (B4).

#include <coven/detail/socket_op.hpp>
#include <coven/net/address.hpp>
#include <coven/task.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>

namespace coven::net {

class stream;

/// The peer closed the stream before read_exact() had all it asked for.
class end_of_stream : public coven::error {
public:
    using coven::error::error;
};

namespace detail {
class accept_awaiter;
struct recv_call {
    std::byte* data;
    std::size_t size;
    auto operator()(int fd) const noexcept -> std::int64_t {
        const auto n = ::recv(fd, data, size, 0);
        return n >= 0 ? n : -errno;
    }
    /// A stream socket that filled less than the buffer has been emptied (an edge comes with
    /// the next data); 0 is end of stream, which stays readable.
    [[nodiscard]] auto drained(std::int64_t n) const noexcept -> bool {
        return n > 0 && static_cast<std::size_t>(n) < size;
    }
};
struct send_call {
    const std::byte* data;
    std::size_t size;
    auto operator()(int fd) const noexcept -> std::int64_t {
        const auto n = ::send(fd, data, size, MSG_NOSIGNAL); // EPIPE, never SIGPIPE
        return n >= 0 ? n : -errno;
    }
    /// The send buffer took less than offered: it is full (an edge comes when it drains).
    [[nodiscard]] auto drained(std::int64_t n) const noexcept -> bool {
        return n >= 0 && static_cast<std::size_t>(n) < size;
    }
};
struct sendmsg_call {
    const iovec* parts;
    std::size_t count;
    auto operator()(int fd) const noexcept -> std::int64_t {
        msghdr msg{};
        msg.msg_iov = const_cast<iovec*>(parts); // NOLINT: sendmsg does not write to it
        msg.msg_iovlen = count;
        const auto n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        return n >= 0 ? n : -errno;
    }
};

/// An operation of a stream that gives a byte count and raises errno as a system_error naming
/// the operation and the peer.
template <class Call>
class [[nodiscard, gnu::warn_unused]] transfer_awaiter : public coven::detail::socket_op<Call> {
public:
    transfer_awaiter(stream & s, coven::detail::owned_fd & fd, int dir, const char* what,
                     Call call) noexcept
        : coven::detail::socket_op<Call>(fd, dir, what, call), m_stream(&s), m_what(what) {}
    auto await_resume()->std::size_t;

private:
    stream* m_stream;
    const char* m_what;
};
} // namespace detail

/// A connected stream socket: TCP over IPv4 or IPv6, or a Unix stream socket. Move-only; closes
/// its fd when destroyed. Belongs to the loop of the first task that waits on it.
///
/// Every operation tries its system call first and waits only when the socket is not ready, so a
/// read of data that has arrived costs one system call and no wait.
///
/// **Cancel safety** (what a cancelled operation has done; docs/net.md):
///  - read_some(), write_some(), writev_some(): cancel-safe. A cancelled call transferred nothing;
///    one that transferred bytes returns their count instead of raising (the cancellation is
///    then raised by the task's next await).
///  - read_exact(): not cancel-safe: the bytes read before the cancellation are in the buffer,
///    but how many is lost. Read into a buffer of your own with read_some() where that matters.
///  - write_all(): not cancel-safe: a prefix of the data may have been sent.
///  - connect(): cancel-safe: the half-open socket is closed.
/// **Errors:** std::system_error with the errno and a message naming the operation and the peer
/// ("connect to 127.0.0.1:6379: Connection refused"). EPIPE and ECONNRESET are errors; writing
/// to a peer that has gone never raises SIGPIPE. A socket closed (close()) while a task waits on
/// it makes that wait raise system_error(EBADF).
/// **Thread safety:** the loop's thread; one reader and one writer at a time (a second waiter in
/// the same direction is a usage_error).
class stream {
public:
    /// Not connected.
    stream() noexcept = default;
    /// Takes a connected, stream-type socket (made non-blocking here). **Throws:**
    /// std::system_error when fcntl() fails.
    static auto from_fd(int fd) -> stream;

    /// Connects to `to`. **Cancellation:** cancel-safe; bound it with a cancel scope
    /// (`co_await coven::fail_after(2s, stream::connect(a))`). **Throws:** system_error
    /// ("connect to <address>: <reason>"); address_error for an address of kind none.
    static auto connect(address to) -> task<stream>;

    /// Reads what has arrived, up to `buffer.size()` bytes, waiting until something has; 0
    /// means the peer closed its side (end of stream).
    auto read_some(std::span<std::byte> buffer) -> detail::transfer_awaiter<detail::recv_call> {
        return {*this, m_fd, 0, "read from", detail::recv_call{buffer.data(), buffer.size()}};
    }
    /// Writes what the socket takes now, at least one byte, waiting until it takes some.
    auto write_some(std::span<const std::byte> data)
        -> detail::transfer_awaiter<detail::send_call> {
        return {*this, m_fd, 1, "write to", detail::send_call{data.data(), data.size()}};
    }
    /// write_some() of several buffers in one system call (sendmsg).
    auto writev_some(std::span<const iovec> parts)
        -> detail::transfer_awaiter<detail::sendmsg_call> {
        return {*this, m_fd, 1, "write to", detail::sendmsg_call{parts.data(), parts.size()}};
    }
    /// Reads exactly `buffer.size()` bytes. **Throws:** end_of_stream if the peer closes first
    /// (saying how many had arrived); system_error. Not cancel-safe (see above).
    auto read_exact(std::span<std::byte> buffer) -> task<void>;
    /// Writes all of `data`. **Throws:** system_error (EPIPE, ECONNRESET...). Not cancel-safe.
    auto write_all(std::span<const std::byte> data) -> task<void>;
    auto write_all(std::string_view text) -> task<void> {
        return write_all(std::as_bytes(std::span(text)));
    }
    /// Writes all of several buffers, gathered (sendmsg) rather than copied together.
    auto write_all(std::span<const std::span<const std::byte>> parts) -> task<void>;

    /// Shuts the write side down: the peer reads end of stream; reading goes on.
    /// **Throws:** system_error.
    void shutdown_write();
    /// TCP_NODELAY (TCP only). **Throws:** system_error (EOPNOTSUPP on a Unix socket).
    void set_nodelay(bool on);
    /// SO_KEEPALIVE. **Throws:** system_error.
    void set_keepalive(bool on);
    /// **Throws:** system_error.
    [[nodiscard]] auto local_address() const -> address;
    /// The peer (as connect() or accept() found it). **Throws:** system_error.
    [[nodiscard]] auto peer_address() const -> address;

    /// Closes the socket (idempotent); a task waiting on it raises system_error(EBADF).
    void close() noexcept { m_fd.close(); }
    [[nodiscard]] auto is_open() const noexcept -> bool { return m_fd.is_open(); }
    [[nodiscard]] auto native_handle() const noexcept -> int { return m_fd.get(); }

    /// The peer as text, for messages ("127.0.0.1:6379", "(socketpair)").
    [[nodiscard]] auto peer_text() const noexcept -> const std::string& { return m_peer; }
    /// Raises `err` as a system_error: "<what> <peer>: <strerror>". For the operations' awaiters.
    [[noreturn]] void raise(int err, const char* what) const;

private:
    friend class listener;
    friend class detail::accept_awaiter;
    friend auto socketpair() -> std::pair<stream, stream>;
    stream(int fd, std::string peer) noexcept : m_fd(fd), m_peer(std::move(peer)) {}

    coven::detail::owned_fd m_fd;
    std::string m_peer; // the peer's text, for error messages
};

/// Two connected Unix stream sockets (socketpair(AF_UNIX, SOCK_STREAM)): a pipe in both
/// directions, for tests and for talking to a child process. **Throws:** system_error.
auto socketpair() -> std::pair<stream, stream>;

template <class Call>
auto detail::transfer_awaiter<Call>::await_resume() -> std::size_t {
    const std::int64_t r = coven::detail::socket_op<Call>::await_resume();
    if (r < 0) {
        m_stream->raise(static_cast<int>(-r), m_what);
    }
    return static_cast<std::size_t>(r);
}

} // namespace coven::net
