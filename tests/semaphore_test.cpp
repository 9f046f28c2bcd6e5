// coven::semaphore and coven::scarlet_lock (S19): n holders, limits, statistics.
#include <coven/semaphore.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace coven_test;
using coven::task;

TEST(Semaphore, AtMostNTasksHoldItAtOnce) {
    coven::event_loop loop(virtual_options());
    coven::scarlet_lock lock(3);
    int inside = 0;
    int most = 0;
    auto worker = [](coven::scarlet_lock& lock, int& inside, int& most) -> task<void> {
        auto held = co_await lock.scoped();
        most = std::max(most, ++inside);
        co_await coven::sleep(1.0);
        --inside;
    };
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 10; ++i) {
            fs.push_back(coven::current_loop()->create_task(worker(lock, inside, most)));
        }
        for (auto& f : fs) {
            co_await f;
        }
        EXPECT_EQ(vtime(loop), 4.0); // ceil(10 / 3) rounds of one second
    };
    loop.run_until_complete(main());
    EXPECT_EQ(most, 3);
    EXPECT_EQ(lock.available(), 3u);
}

TEST(Semaphore, AScarletLockRefusesAReleaseNobodyHolds) {
    coven::scarlet_lock lock(2);
    EXPECT_THROW(lock.release(), coven::usage_error);
    EXPECT_THROW(coven::scarlet_lock(0), coven::usage_error);
}

TEST(Semaphore, AnUnboundedSemaphoreCountsReleasesUp) {
    coven::semaphore sem(0);
    EXPECT_FALSE(sem.try_acquire());
    sem.release();
    sem.release();
    EXPECT_EQ(sem.available(), 2u);
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_THROW(coven::semaphore(3, 2), coven::usage_error);
}

TEST(Semaphore, StatisticsCountWaitsAndHandOvers) {
    coven::event_loop loop(virtual_options());
    coven::semaphore sem(1);
    auto waiter = [](coven::semaphore& sem) -> task<void> {
        co_await sem.acquire();
        sem.release();
    };
    auto main = [&]() -> task<void> {
        co_await sem.acquire();
        auto w = coven::current_loop()->create_task(waiter(sem));
        co_await coven::sleep(0.1);
        EXPECT_EQ(sem.statistics().waiting, 1u);
        sem.release();
        co_await w;
        auto s = sem.statistics();
        EXPECT_EQ(s.acquisitions, 2u);
        EXPECT_EQ(s.contended, 1u);
        EXPECT_EQ(s.available, 1u);
    };
    loop.run_until_complete(main());
}
