// The virtual clock (B3) at its edges: advance() from another thread while autojump moves the
// clock, deadlines at the end of its range.

#include <coven/event_loop.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace coven_test;
using coven::task;

// Autojump moves the clock to the next timer while another thread adds to it: neither may
// overwrite the other. The loop sleeps a microsecond at a time, so autojump alone moves the
// clock by under a millisecond; a lost advance(1s) would leave the clock a second short.
TEST(VirtualClock, AdvanceFromAnotherThreadIsNeverLostToAutojump) {
    coven::event_loop loop(virtual_options());
    constexpr int advances = 20000;
    std::atomic<bool> stop{false};
    std::atomic<bool> started{false};
    auto sleeper = [&]() -> task<int> {
        int naps = 0;
        started = true;
        while (!stop.load()) {
            co_await coven::sleep(std::chrono::microseconds(1));
            ++naps;
        }
        co_return naps;
    };
    std::thread advancer([&] {
        while (!started.load()) {
            std::this_thread::yield();
        }
        for (int i = 0; i < advances; ++i) {
            loop.advance(std::chrono::seconds(1));
        }
        stop = true;
    });
    const int naps = loop.run_until_complete(sleeper());
    advancer.join();
    const auto elapsed = loop.now().time_since_epoch();
    EXPECT_GE(elapsed, std::chrono::seconds(advances)) << "an advance() was lost";
    EXPECT_LE(elapsed, std::chrono::seconds(advances) + std::chrono::microseconds(naps + 1));
}
