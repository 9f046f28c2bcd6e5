#pragma once
// The tcp_echo workload's body (bench/tcp_echo.cpp).

#include <coven/task.hpp>

#include <cstdint>

namespace coven_bench {

/// An echo server and 64 clients in this loop over 127.0.0.1 with TCP_NODELAY: each client
/// connects, then writes 64 bytes and reads the 64-byte echo `n / 64` times (the rig's
/// tcp_echo, ../shared/peers/README.md). Gives the round trips made; the time includes the
/// connects, as the peers' does.
auto tcp_echo_round_trips(std::uint64_t n) -> coven::task<std::uint64_t>;

} // namespace coven_bench
