// coven::lock (S18): ownership, try_acquire, the guard, statistics.
#include <coven/lock.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace coven_test;
using coven::task;

TEST(Lock, TryAcquireTakesAFreeLockOnly) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    auto main = [&]() -> task<void> {
        EXPECT_TRUE(lock.try_acquire());
        EXPECT_TRUE(lock.locked());
        EXPECT_FALSE(lock.try_acquire());
        lock.release();
        EXPECT_FALSE(lock.locked());
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(Lock, TheGuardReleasesAtTheEndOfTheBlockAndOnEarlyUnlock) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    auto main = [&]() -> task<void> {
        {
            auto held = co_await lock.scoped();
            EXPECT_TRUE(held.owns_lock());
            EXPECT_TRUE(lock.locked());
        }
        EXPECT_FALSE(lock.locked());
        auto held = co_await lock.scoped();
        held.unlock();
        EXPECT_FALSE(lock.locked());
        EXPECT_FALSE(held.owns_lock());
    };
    loop.run_until_complete(main());
}

TEST(Lock, ReleaseByATaskThatDoesNotHoldItIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    auto other = [](coven::lock& lock) -> task<void> {
        lock.release();
        co_return;
    };
    auto main = [&]() -> task<void> {
        EXPECT_THROW(lock.release(), coven::usage_error); // not locked
        co_await lock.acquire();
        auto f = coven::current_loop()->create_task(other(lock));
        EXPECT_THROW(co_await f, coven::usage_error);
        EXPECT_TRUE(lock.locked());
        lock.release();
    };
    loop.run_until_complete(main());
}

TEST(Lock, OwnershipPassesToTheWaiterItIsHandedTo) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    auto waiter = [](coven::lock& lock) -> task<void> {
        co_await lock.acquire();
        lock.release(); // it owns it now
    };
    auto main = [&]() -> task<void> {
        co_await lock.acquire();
        auto w = coven::current_loop()->create_task(waiter(lock));
        co_await coven::sleep(0.1);
        lock.release();
        EXPECT_THROW(lock.release(), coven::usage_error); // handed over: not ours any more
        co_await w;
        EXPECT_FALSE(lock.locked());
        auto s = lock.statistics();
        EXPECT_EQ(s.acquisitions, 2u);
        EXPECT_EQ(s.contended, 1u);
    };
    loop.run_until_complete(main());
}

TEST(Lock, AGuardWhoseHoldWasReleasedByHandDoesNothing) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    std::vector<int> order;
    auto other = [](coven::lock& lock, std::vector<int>& order) -> task<void> {
        co_await lock.acquire();
        order.push_back(2);
        co_await coven::sleep(1.0);
        EXPECT_TRUE(lock.locked()); // the first task's guard did not release this hold
        lock.release();
    };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(other(lock, order));
        {
            auto held = co_await lock.scoped();
            order.push_back(1);
            co_await coven::sleep(0.1);
            lock.release(); // by hand: the other task gets it
            EXPECT_FALSE(held.owns_lock());
            co_await coven::sleep(0.1);
        } // the guard goes here, while the other task holds the lock
        co_await f;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Lock, AcquiringItAgainFromTheHoldingTaskIsAUsageErrorNotAHang) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    auto holder = [](coven::lock& lock) -> task<void> {
        co_await lock.acquire();
        co_await coven::sleep(1.0);
        lock.release();
    };
    auto main = [&]() -> task<void> {
        auto h = coven::current_loop()->create_task(holder(lock)); // someone else waits too
        co_await lock.acquire();
        EXPECT_THROW(co_await lock.acquire(), coven::usage_error);
        lock.release();
        co_await h;
    };
    loop.run_until_complete(main());
}
