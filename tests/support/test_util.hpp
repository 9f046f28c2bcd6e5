#pragma once
// Helpers shared by coven's tests.

#include <coven/coven.hpp>
#include <coven/testing.hpp>

#include <chrono>

namespace coven_test {

using namespace std::chrono_literals;

/// A loop on the virtual clock, driven by the test's thread.
inline auto virtual_options() -> coven::loop_options {
    return coven::loop_options{.clock = coven::clock_kind::virtual_time};
}

/// Seconds of virtual time since the loop's origin.
inline auto vtime(const coven::event_loop& loop) -> double {
    return loop.time();
}

} // namespace coven_test
