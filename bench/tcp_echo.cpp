// tcp_echo: the rig's echo workload on coven::net (see tcp_echo.hpp).

#include "tcp_echo.hpp"

#include <coven/net.hpp>
#include <coven/task_scope.hpp>

#include <array>
#include <cstdlib>
#include <cstring>

namespace coven_bench {
namespace {

constexpr std::size_t msg_size = 64;
constexpr std::uint64_t connections = 64;

auto session(coven::net::stream s) -> coven::task<void> {
    s.set_nodelay(true);
    std::array<std::byte, 4096> buf{};
    for (;;) {
        const std::size_t n = co_await s.read_some(buf);
        if (n == 0) {
            co_return; // the client is done
        }
        std::size_t sent = 0;
        while (sent < n) { // write_some: no frame per write, as write_all would make
            sent += co_await s.write_some(std::span(buf).subspan(sent, n - sent));
        }
    }
}

auto client(coven::net::address to, std::uint64_t round_trips) -> coven::task<void> {
    auto s = co_await coven::net::stream::connect(to);
    s.set_nodelay(true);
    std::array<std::byte, msg_size> msg{};
    std::memset(msg.data(), 7, msg.size());
    // The reply is read into a buffer larger than it: a read that fills less than the buffer
    // tells coven the socket is empty, so the next read waits without an EAGAIN call.
    std::array<std::byte, 4096> reply{};
    for (std::uint64_t i = 0; i < round_trips; ++i) {
        std::size_t sent = 0;
        while (sent < msg.size()) {
            sent += co_await s.write_some(std::span(msg).subspan(sent));
        }
        std::size_t got = 0;
        while (got < msg_size) {
            const std::size_t k = co_await s.read_some(std::span(reply).subspan(got));
            if (k == 0) {
                std::abort(); // the server never closes first
            }
            got += k;
        }
        if (got != msg_size) {
            std::abort(); // the server echoes exactly what was sent
        }
    }
    // Closing the stream (here, as the peers do) is the end of stream the server reads.
}

} // namespace

auto tcp_echo_round_trips(std::uint64_t n) -> coven::task<std::uint64_t> {
    auto server = coven::net::listener::bind(coven::net::address::loopback());
    const auto at = server.local_address();
    const std::uint64_t per_conn = n / connections;
    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> coven::task<void> {
        for (std::uint64_t c = 0; c < connections; ++c) {
            scope.spawn(client(at, per_conn));
        }
        for (std::uint64_t c = 0; c < connections; ++c) {
            auto [conn, peer] = co_await server.accept();
            scope.spawn(session(std::move(conn)));
        }
    });
    co_return per_conn* connections;
}

} // namespace coven_bench
