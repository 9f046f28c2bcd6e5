#pragma once
// coven::net::datagram_socket: UDP over IPv4 or IPv6, and Unix datagram sockets (B4).

#include <coven/detail/socket_op.hpp>
#include <coven/net/address.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <sys/socket.h>

namespace coven::net {

class datagram_socket;

/// What recv_from() gives: the datagram's size and its sender.
struct received {
    std::size_t size = 0;
    address from;
};

namespace detail {
struct recvfrom_call {
    std::byte* data;
    std::size_t size;
    sockaddr_storage* from;
    socklen_t* from_size;
    auto operator()(int fd) const noexcept -> std::int64_t {
        *from_size = sizeof(sockaddr_storage);
        const auto n = ::recvfrom(fd, data, size, 0, reinterpret_cast<sockaddr*>(from), from_size);
        return n >= 0 ? n : -errno;
    }
};
struct sendto_call {
    const std::byte* data;
    std::size_t size;
    const sockaddr* to; // null: the connected peer
    socklen_t to_size;
    auto operator()(int fd) const noexcept -> std::int64_t {
        const auto n = ::sendto(fd, data, size, MSG_NOSIGNAL, to, to_size);
        return n >= 0 ? n : -errno;
    }
};
class [[nodiscard, gnu::warn_unused]] recv_from_awaiter
    : public coven::detail::socket_op<recvfrom_call> {
public:
    recv_from_awaiter(datagram_socket & s, coven::detail::owned_fd & fd,
                      std::span<std::byte> buffer) noexcept
        : coven::detail::socket_op<recvfrom_call>(
              fd, 0, "receive on", recvfrom_call{buffer.data(), buffer.size(), &m_from, &m_size}),
          m_socket(&s) {}
    auto await_resume()->received;

private:
    datagram_socket* m_socket;
    sockaddr_storage m_from{};
    socklen_t m_size = 0;
};
class [[nodiscard, gnu::warn_unused]] send_to_awaiter
    : public coven::detail::socket_op<sendto_call> {
public:
    send_to_awaiter(datagram_socket & s, coven::detail::owned_fd & fd,
                    std::span<const std::byte> data, const address* to) noexcept
        : coven::detail::socket_op<sendto_call>(fd, 1, "send on",
                                                sendto_call{data.data(), data.size(),
                                                            to != nullptr ? to->data() : nullptr,
                                                            to != nullptr ? to->size() : 0}),
          m_socket(&s) {}
    auto await_resume()->std::size_t;

private:
    datagram_socket* m_socket;
};
} // namespace detail

/// A datagram socket: UDP (IPv4, IPv6) or Unix datagrams. Move-only; closes its fd when
/// destroyed. Each send is one datagram, each receive takes one whole (a buffer too small
/// for it gets its first bytes; the rest is dropped, as recvfrom(2) does).
/// **Cancellation:** recv_from()/recv() and send_to()/send() are cancel-safe: a cancelled
/// receive took no datagram, a cancelled send sent none.
/// **Errors:** system_error naming the operation and the socket's address.
/// **Thread safety:** the loop's thread; one receiver and one sender at a time.
class datagram_socket {
public:
    datagram_socket() noexcept = default;
    /// A socket bound to `at` (port 0: the system picks; see local_address()).
    /// **Throws:** system_error; address_error for an address of kind none.
    static auto bind(const address& at) -> datagram_socket;
    /// An unbound socket of `at`'s family, connected to `at`: send() and recv() then talk to it
    /// only. **Throws:** system_error.
    static auto connect(const address& at) -> datagram_socket;

    /// Receives one datagram and says who sent it.
    auto recv_from(std::span<std::byte> buffer) -> detail::recv_from_awaiter {
        return {*this, m_fd, buffer};
    }
    /// Sends one datagram to `to` (kept until the send is done: pass an address that outlives
    /// the await).
    auto send_to(std::span<const std::byte> data, const address& to) -> detail::send_to_awaiter {
        return {*this, m_fd, data, &to};
    }
    /// Receives one datagram from the connected peer.
    auto recv(std::span<std::byte> buffer) -> detail::recv_from_awaiter {
        return {*this, m_fd, buffer};
    }
    /// Sends one datagram to the connected peer.
    auto send(std::span<const std::byte> data) -> detail::send_to_awaiter {
        return {*this, m_fd, data, nullptr};
    }

    /// **Throws:** system_error.
    [[nodiscard]] auto local_address() const -> address;
    void close() noexcept { m_fd.close(); }
    [[nodiscard]] auto is_open() const noexcept -> bool { return m_fd.is_open(); }
    [[nodiscard]] auto native_handle() const noexcept -> int { return m_fd.get(); }

    /// Raises `err` as a system_error: "<what> <address>: <strerror>".
    [[noreturn]] void raise(int err, const char* what) const;

private:
    explicit datagram_socket(int fd, std::string text) noexcept
        : m_fd(fd), m_text(std::move(text)) {}
    coven::detail::owned_fd m_fd;
    std::string m_text;
};

} // namespace coven::net
