// coven::net::stream, socketpair() and listener (include/coven/net/).

#include <coven/net/listener.hpp>
#include <coven/net/stream.hpp>

#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace coven::net {
namespace {

[[noreturn]] void raise_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// A non-blocking, close-on-exec socket. **Throws:** system_error.
auto open_socket(const address& a, const char* what) -> int {
    if (a.family() == address::kind::none) {
        throw address_error(std::string("coven: ") + what +
                            " needs an address; this one is "
                            "empty (address::parse(\"127.0.0.1:80\") makes one)");
    }
    const int fd = ::socket(a.domain(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        raise_errno(errno, std::string(what) + " " + a.to_string() + ": socket()");
    }
    return fd;
}

auto name_of(int fd, bool peer) -> address {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                       : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (r < 0) {
        raise_errno(errno, peer ? "getpeername" : "getsockname");
    }
    return address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void set_flag(int fd, int level, int name, bool on, const char* what) {
    const int value = on ? 1 : 0;
    if (::setsockopt(fd, level, name, &value, sizeof value) < 0) {
        raise_errno(errno, what);
    }
}

/// Whether a connect() under way has ended: 0 connected, -errno failed, -EAGAIN not yet.
/// A socket with a peer is connected: one call on the common path. Only without one does
/// SO_ERROR tell a failure from a connect still under way.
struct connect_check {
    auto operator()(int fd) const noexcept -> std::int64_t {
        sockaddr_storage ss{};
        socklen_t sslen = sizeof ss;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sslen) == 0) {
            return 0;
        }
        if (errno != ENOTCONN) {
            return -errno;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            return -errno;
        }
        return err != 0 ? -err : -EAGAIN;
    }
};

} // namespace

auto stream::from_fd(int fd) -> stream {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        raise_errno(errno, "stream::from_fd: fcntl(O_NONBLOCK)");
    }
    std::string peer;
    try {
        peer = name_of(fd, true).to_string();
    } catch (...) {
        peer = "(fd " + std::to_string(fd) + ")";
    }
    return stream(fd, std::move(peer));
}

auto stream::connect(address to) -> task<stream> {
    stream s(open_socket(to, "connect to"), to.to_string());
    if (::connect(s.m_fd.get(), to.data(), to.size()) < 0) {
        if (errno != EINPROGRESS) {
            s.raise(errno, "connect to");
        }
        // Unix sockets connect at once or fail (EAGAIN: the listener's backlog is full).
        const std::int64_t r =
            co_await coven::detail::socket_op<connect_check>(s.m_fd, 1, "connect to", {});
        if (r < 0) {
            s.raise(static_cast<int>(-r), "connect to");
        }
    }
    co_return s;
}

auto stream::read_exact(std::span<std::byte> buffer) -> task<void> {
    std::size_t got = 0;
    while (got < buffer.size()) {
        const std::size_t n = co_await read_some(buffer.subspan(got));
        if (n == 0) {
            throw end_of_stream("coven: read_exact from " + m_peer +
                                ": the peer closed the "
                                "stream after " +
                                std::to_string(got) + " of " + std::to_string(buffer.size()) +
                                " bytes");
        }
        got += n;
    }
}

auto stream::write_all(std::span<const std::byte> data) -> task<void> {
    while (!data.empty()) {
        data = data.subspan(co_await write_some(data));
    }
}

auto stream::write_all(std::span<const std::span<const std::byte>> parts) -> task<void> {
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    for (const auto& p : parts) {
        if (!p.empty()) {
            iov.push_back({const_cast<std::byte*>(p.data()), p.size()}); // NOLINT: not written
        }
    }
    std::size_t first = 0;
    while (first < iov.size()) {
        const std::size_t count = std::min<std::size_t>(iov.size() - first, IOV_MAX);
        std::size_t n = co_await writev_some(std::span(iov).subspan(first, count));
        while (n > 0 && first < iov.size()) { // drop what went, trim what went in part
            if (n >= iov[first].iov_len) {
                n -= iov[first].iov_len;
                ++first;
            } else {
                iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + n;
                iov[first].iov_len -= n;
                n = 0;
            }
        }
    }
}

void stream::shutdown_write() {
    if (::shutdown(m_fd.get(), SHUT_WR) < 0) {
        raise(errno, "shutdown of the write side to");
    }
}

void stream::set_nodelay(bool on) {
    set_flag(m_fd.get(), IPPROTO_TCP, TCP_NODELAY, on, ("set TCP_NODELAY to " + m_peer).c_str());
}

void stream::set_keepalive(bool on) {
    set_flag(m_fd.get(), SOL_SOCKET, SO_KEEPALIVE, on, ("set SO_KEEPALIVE to " + m_peer).c_str());
}

auto stream::local_address() const -> address {
    return name_of(m_fd.get(), false);
}

auto stream::peer_address() const -> address {
    return name_of(m_fd.get(), true);
}

void stream::raise(int err, const char* what) const {
    raise_errno(err, std::string(what) + " " + (m_peer.empty() ? "(not connected)" : m_peer));
}

auto socketpair() -> std::pair<stream, stream> {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
        raise_errno(errno, "socketpair");
    }
    return {stream(fds[0], "(socketpair)"), stream(fds[1], "(socketpair)")};
}

// --- listener ---------------------------------------------------------------------------------

auto listener::bind(const address& at, listener_options options) -> listener {
    listener l(open_socket(at, "bind to"));
    l.m_text = at.to_string();
    const int fd = l.m_fd.get();
    const bool ip = at.family() == address::kind::ipv4 || at.family() == address::kind::ipv6;
    if (ip && options.reuse_address) {
        set_flag(fd, SOL_SOCKET, SO_REUSEADDR, true, ("set SO_REUSEADDR on " + l.m_text).c_str());
    }
    if (options.reuse_port) {
        set_flag(fd, SOL_SOCKET, SO_REUSEPORT, true, ("set SO_REUSEPORT on " + l.m_text).c_str());
    }
    if (::bind(fd, at.data(), at.size()) < 0) {
        l.raise(errno, "bind to");
    }
    if (::listen(fd, options.backlog) < 0) {
        l.raise(errno, "listen on");
    }
    if (ip) {
        l.m_text = l.local_address().to_string(); // with the port the system picked
    }
    return l;
}

auto listener::local_address() const -> address {
    return name_of(m_fd.get(), false);
}

void listener::raise(int err, const char* what) const {
    raise_errno(err, std::string(what) + " " + m_text);
}

auto detail::accept_awaiter::await_resume() -> accepted {
    const std::int64_t r = socket_op<accept_call>::await_resume();
    if (r < 0) {
        m_listener->raise(static_cast<int>(-r), "accept on");
    }
    const int fd = static_cast<int>(r);
    address peer;
    try {
        peer = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&m_peer), m_size);
    } catch (...) {
        ::close(fd);
        throw;
    }
    return accepted{stream(fd, peer.to_string()), peer};
}

} // namespace coven::net
