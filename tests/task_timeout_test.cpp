// task_timeout() (K28): a timeout built on interrupts, independent of cancellation.
#include <coven/task_timeout.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

TEST(TaskTimeout, RaisesTimeoutErrorAtTheDeadlineAfterTheBodyUnwound) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto body = [](std::vector<std::string>& log) -> task<int> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            log.emplace_back("body unwound");
            throw;
        }
        co_return 1;
    };
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await coven::task_timeout(2.0, body(log)), coven::timeout_error);
        EXPECT_EQ(vtime(loop), 2.0);
        co_await coven::sleep(1.0); // nothing left pending
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"body unwound"});
    EXPECT_TRUE(coven::testing::inspect::pending_interrupts(loop) == 0);
}

TEST(TaskTimeout, GivesTheValueWhenTheBodyFinishesFirst) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_EQ(co_await coven::task_timeout(std::chrono::seconds(5), sleep_then(1.0, 42)), 42);
        co_await coven::sleep(10.0); // the disarmed deadline does not fire later
        EXPECT_EQ(vtime(loop), 11.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskTimeout, ACancelOfTheTaskStaysACancellationNotATimeout) {
    coven::event_loop loop(virtual_options());
    auto timed = []() -> task<void> { co_await coven::task_timeout(5.0, sleep_for(10.0)); };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(timed());
        co_await coven::sleep(1.0);
        f.cancel();
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
        EXPECT_FALSE(f.timed_out());
    };
    loop.run_until_complete(main());
}

TEST(TaskTimeout, TheOuterOfTwoNestedTimeoutsCanExpireFirst) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto inner = [](double d) -> task<void> {
            co_await coven::task_timeout(d, sleep_for(10.0));
        };
        EXPECT_THROW(co_await coven::task_timeout(1.0, inner(3.0)), coven::timeout_error);
        EXPECT_EQ(vtime(loop), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskTimeout, AnInnerTimeoutCaughtInsideDoesNotCancelTheOuterOne) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto outer_body = [](std::vector<std::string>& log) -> task<void> {
        try {
            co_await coven::task_timeout(1.0, sleep_for(10.0));
        } catch (const coven::timeout_error&) {
            log.emplace_back("inner expired");
        }
        co_await coven::sleep(10.0); // the outer deadline cuts this one
        log.emplace_back("not reached");
    };
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await coven::task_timeout(3.0, outer_body(log)), coven::timeout_error);
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"inner expired"});
}

TEST(TaskTimeout, NestedDeadlinesExpiringTogetherRaiseTheOuterOne) {
    // Both deadlines pass in the same tick: the outer one's interrupt unwinds the inner one too,
    // so the inner one does not raise its own on top.
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto outer_body = [](std::vector<std::string>& log) -> task<void> {
        try {
            co_await coven::task_timeout(2.0, sleep_for(10.0));
        } catch (const coven::timeout_error&) {
            log.emplace_back("inner expired");
        }
        co_await coven::sleep(5.0);
        log.emplace_back("not reached");
    };
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await coven::task_timeout(2.0, outer_body(log)), coven::timeout_error);
        EXPECT_EQ(vtime(loop), 2.0);
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty());
    EXPECT_TRUE(coven::testing::inspect::pending_interrupts(loop) == 0);
}

TEST(TaskTimeout, AnOuterDeadlineReplacesAnInnerOneHeldBackAndLeavesNothingBehind) {
    // The inner deadline passes while a shield holds its interrupt back; the outer one passes
    // next and replaces it. Once the shield is left the outer one raises, and the caller's next
    // await is not interrupted by a left-over inner one.
    coven::event_loop loop(virtual_options());
    auto shielded_sleep = [](double d) -> task<void> {
        coven::cancel_scope shield;
        shield.set_shield(true);
        co_await shield.run(sleep_for(d));
        co_await coven::sleep(10.0);
    };
    auto inner = [&]() -> task<void> { co_await coven::task_timeout(1.0, shielded_sleep(3.0)); };
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await coven::task_timeout(2.0, inner()), coven::timeout_error);
        EXPECT_EQ(vtime(loop), 3.0);
        co_await coven::sleep(1.0); // nothing left pending
        EXPECT_EQ(vtime(loop), 4.0);
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(coven::testing::inspect::pending_interrupts(loop) == 0);
}

TEST(TaskTimeout, ACaughtTimeoutLeavesAnEnclosingScopeItsOwnDeadline) {
    coven::event_loop loop(virtual_options());
    auto body = []() -> task<void> {
        try {
            co_await coven::task_timeout(1.0, sleep_for(10.0));
        } catch (const coven::timeout_error&) {
        }
        co_await coven::sleep(10.0); // cut by the scope's deadline at 5.0
    };
    auto main = [&]() -> task<void> {
        EXPECT_FALSE(co_await coven::move_on_after(5.0, body())); // the scope caught its own
        EXPECT_EQ(vtime(loop), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskTimeout, AThrowPendingWhenTheDeadlinePassesIsRaisedAfterIt) {
    // A shield holds a task_throw() back; the deadline passes meanwhile. Both are raised once
    // the shield is left: the timeout first, the thrown exception at the next await after it.
    coven::event_loop loop(virtual_options());
    struct reload {};
    auto body = []() -> task<void> {
        coven::cancel_scope shield;
        shield.set_shield(true);
        co_await shield.run(sleep_for(3.0));
        co_await coven::sleep(10.0);
    };
    auto target_body = [&]() -> task<std::string> {
        try {
            co_await coven::task_timeout(1.0, body());
        } catch (const coven::timeout_error&) {
        }
        try {
            co_await coven::sleep(10.0);
        } catch (const reload&) {
            co_return "reload after the timeout";
        }
        co_return "lost";
    };
    auto main = [&]() -> task<void> {
        auto t = coven::current_loop()->create_task(target_body());
        co_await coven::sleep(0.5);
        coven::task_throw(t, reload{}); // held back by the shield
        EXPECT_EQ(co_await t, "reload after the timeout");
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskTimeout, WorksInAwaitSyncWhenTheBodyDoesNotBlock) {
    EXPECT_EQ(coven::await_sync(coven::task_timeout(1.0, []() -> task<int> { co_return 3; }())), 3);
}
