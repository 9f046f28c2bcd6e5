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

/// The loop time point `seconds` after the (virtual) clock's origin.
inline auto at(double seconds) -> coven::event_loop::time_point {
    return coven::event_loop::time_point(std::chrono::duration_cast<coven::event_loop::duration>(
        std::chrono::duration<double>(seconds)));
}

/// A task that sleeps, then returns `value`.
inline auto sleep_then(double seconds, int value) -> coven::task<int> {
    co_await coven::sleep(seconds);
    co_return value;
}

/// A task that only sleeps.
inline auto sleep_for(double seconds) -> coven::task<void> {
    co_await coven::sleep(seconds);
}

/// Seconds of virtual time since the loop's origin.
inline auto vtime(const coven::event_loop& loop) -> double {
    return loop.time();
}

} // namespace coven_test
