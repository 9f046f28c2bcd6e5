// coven::net::datagram_socket (include/coven/net/datagram.hpp).

#include <coven/net/datagram.hpp>

#include <cerrno>
#include <string>
#include <sys/socket.h>
#include <system_error>

namespace coven::net {
namespace {

auto open_datagram(const address& a, const char* what) -> int {
    if (a.family() == address::kind::none) {
        throw address_error(std::string("coven: ") + what +
                            " needs an address; this one is "
                            "empty");
    }
    const int fd = ::socket(a.domain(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(),
                                std::string(what) + " " + a.to_string() + ": socket()");
    }
    return fd;
}

} // namespace

auto datagram_socket::bind(const address& at) -> datagram_socket {
    datagram_socket s(open_datagram(at, "bind to"), at.to_string());
    if (::bind(s.m_fd.get(), at.data(), at.size()) < 0) {
        s.raise(errno, "bind to");
    }
    if (at.port() == 0 &&
        (at.family() == address::kind::ipv4 || at.family() == address::kind::ipv6)) {
        s.m_text = s.local_address().to_string();
    }
    return s;
}

auto datagram_socket::connect(const address& at) -> datagram_socket {
    datagram_socket s(open_datagram(at, "connect to"), at.to_string());
    if (::connect(s.m_fd.get(), at.data(), at.size()) < 0) {
        s.raise(errno, "connect to");
    }
    return s;
}

auto datagram_socket::local_address() const -> address {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(m_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
        raise(errno, "getsockname of");
    }
    return address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void datagram_socket::raise(int err, const char* what) const {
    throw std::system_error(err, std::generic_category(), std::string(what) + " " + m_text);
}

auto detail::recv_from_awaiter::await_resume() -> received {
    const std::int64_t r = socket_op<recvfrom_call>::await_resume();
    if (r < 0) {
        m_socket->raise(static_cast<int>(-r), "receive on");
    }
    received out;
    out.size = static_cast<std::size_t>(r);
    if (m_size >= sizeof(sa_family_t)) { // an unnamed Unix sender gives no address
        out.from = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&m_from), m_size);
    }
    return out;
}

auto detail::send_to_awaiter::await_resume() -> std::size_t {
    const std::int64_t r = socket_op<sendto_call>::await_resume();
    if (r < 0) {
        m_socket->raise(static_cast<int>(-r), "send on");
    }
    return static_cast<std::size_t>(r);
}

} // namespace coven::net
