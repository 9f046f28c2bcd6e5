// The test seams of coven/testing.hpp, and the allocation-failure sweep (TESTING.md seam 5).
#include <coven/testing.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <new>
#include <string>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

auto leaf(int i) -> task<int> {
    co_await coven::sleep(0.001 * i);
    co_return i;
}

auto middle(int i) -> task<int> {
    int a = co_await leaf(i);
    int b = co_await leaf(i + 1);
    co_return a + b;
}

// Spawns, awaits nested tasks, sleeps and cancels: a few dozen frame allocations.
auto scenario(coven::event_loop& loop) -> task<int> {
    std::vector<future<int>> fs;
    for (int i = 0; i < 6; ++i) {
        fs.push_back(loop.create_task(middle(i)));
    }
    auto sleeper = loop.create_task(leaf(100));
    int sum = co_await middle(10);
    sleeper.cancel();
    for (auto& f : fs) {
        sum += co_await f;
    }
    co_await sleeper.wait();
    co_return sum;
}

auto one() -> task<int> {
    co_await coven::skip_ready_cycle();
    co_return 1;
}

} // namespace

TEST(Testing, LiveObjectsCountFramesTimersAndWaiters) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(leaf(5));
        co_await coven::skip_ready_cycle(); // f is asleep now
        auto live = coven::testing::live();
        EXPECT_GE(live.frames, 2);
        EXPECT_EQ(live.timers, 1);
        EXPECT_EQ(live.waiters, 1);
        co_await f;
    };
    loop.run_until_complete(body());
}

TEST(Testing, EveryFrameAllocationFailureSurfacesAsBadAllocAndLeaksNothing) {
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    int failures = 0;
    for (int n = 1;; ++n) {
        ASSERT_LT(n, 1000) << "the scenario never ran to completion";
        coven::event_loop loop(virtual_options());
        bool completed = false;
        int sum = 0;
        coven::testing::fail_frame_allocation_after(n);
        try {
            sum = loop.run_until_complete(scenario(loop));
            completed = true;
        } catch (const std::bad_alloc&) {
            ++failures;
        }
        const bool injected = !coven::testing::frame_allocation_failure_armed();
        coven::testing::fail_frame_allocation_after(0);
        loop.stop(); // cancels whatever the failed run left behind
        EXPECT_EQ(loop.statistics().live_tasks, 0u) << "n=" << n;
        EXPECT_EQ(loop.run_until_complete(one()), 1) << "the loop must stay usable, n=" << n;
        if (!injected) {
            EXPECT_TRUE(completed) << "n=" << n;
            EXPECT_EQ(sum, 1 + 3 + 5 + 7 + 9 + 11 + 21) << "n=" << n;
            break;
        }
        EXPECT_FALSE(completed) << "an injected failure must surface, n=" << n;
    }
    EXPECT_GT(failures, 10);
    coven::set_unobserved_exception_handler(nullptr);
}
