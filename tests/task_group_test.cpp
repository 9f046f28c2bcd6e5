// task_group (S7): scarletio's TaskGroup, plus wait_first / wait_next / wait_exception /
// cancel_all and the done and pending sets.
#include <coven/task_group.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::any_future;
using coven::future;
using coven::task;
using coven::task_group;

namespace {

auto sleep_then_throw(double seconds) -> task<void> {
    co_await coven::sleep(seconds);
    throw std::runtime_error("failed");
}

} // namespace

TEST(TaskGroup, WaitAllWaitsForEveryTaskAndRaisesNothing) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_group group(loop);
        auto a = group.create_task(sleep_then(1.0, 1));
        group.create_task(sleep_then_throw(2.0));
        group.add_future(coven::sleep(3.0));
        co_await group.wait_all();
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
        EXPECT_EQ(group.done().size(), 3u);
        EXPECT_TRUE(group.pending().empty());
        EXPECT_EQ(a.result(), 1);
        EXPECT_TRUE(group.done()[1].failed()); // the error stays in its future
        EXPECT_THROW(std::rethrow_exception(group.done()[1].exception()), std::runtime_error);
        co_await group.wait_all(); // nothing pending: at once
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, WaitFirstReturnsTheFirstToComplete) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_group group(loop);
        EXPECT_FALSE((co_await group.wait_first()).has_value()); // empty group
        group.create_task(sleep_then(3.0, 3));
        auto b = group.create_task(sleep_then(1.0, 1));
        auto first = co_await group.wait_first();
        EXPECT_TRUE(first.has_value());
        EXPECT_TRUE(*first == any_future(b));
        EXPECT_EQ(first->as<int>().result(), 1);
        EXPECT_THROW((void)first->as<double>(), coven::usage_error);
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
        group.cancel_all();
        co_await group.wait_all();
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, WaitNextHandsOutEachFutureOnceInCompletionOrder) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_group group(loop);
        group.create_task(sleep_then(3.0, 3));
        group.create_task(sleep_then(1.0, 1));
        group.create_task(sleep_then(2.0, 2));
        std::vector<int> order;
        while (auto f = co_await group.wait_next()) {
            order.push_back(f->as<int>().result());
        }
        EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, TwoConsumersOfWaitNextNeverGetTheSameFuture) {
    coven::event_loop loop(virtual_options());
    auto consumer = [](task_group& g, std::vector<int>& got) -> task<void> {
        while (auto f = co_await g.wait_next()) {
            got.push_back(f->as<int>().result());
        }
    };
    auto main = [&]() -> task<void> {
        task_group group(loop);
        std::vector<int> a;
        std::vector<int> b;
        auto ca = loop.create_task(consumer(group, a));
        auto cb = loop.create_task(consumer(group, b));
        for (int i = 0; i < 6; ++i) {
            group.create_task(sleep_then(1.0 + i % 3, i));
        }
        co_await ca;
        co_await cb;
        EXPECT_EQ(a.size() + b.size(), 6u);
        std::vector<int> all = a;
        all.insert(all.end(), b.begin(), b.end());
        std::sort(all.begin(), all.end());
        EXPECT_EQ(all, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, WaitExceptionReturnsTheFirstFailureOrNothing) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_group ok(loop);
        ok.create_task(sleep_then(1.0, 1));
        EXPECT_FALSE((co_await ok.wait_exception()).has_value());
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);

        task_group bad(loop);
        bad.create_task(sleep_then(5.0, 1));
        auto failing = bad.create_task(sleep_then_throw(2.0));
        auto f = co_await bad.wait_exception();
        EXPECT_TRUE(f.has_value() && *f == any_future(failing));
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
        EXPECT_EQ(bad.cancel_all(), 1u);
        co_await bad.wait_all();
        EXPECT_TRUE(bad.done()[1].cancelled());
        (void)failing.exception();
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, ACancelledWaiterIsUnlinkedAndTheTasksKeepRunning) {
    coven::event_loop loop(virtual_options());
    auto waiter = [](task_group& g) -> task<void> { co_await g.wait_all(); };
    auto main = [&]() -> task<void> {
        task_group group(loop);
        auto t = group.create_task(sleep_then(5.0, 5));
        auto w = loop.create_task(waiter(group));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_EQ(coven::testing::live().waiters, 1); // only the task's own sleep
        EXPECT_FALSE(t.done());
        co_await group.wait_all();
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskGroup, AddingAFinishedFutureCountsItDoneAtOnce) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_then(1.0, 7));
        co_await f;
        task_group group;
        group.add_future(f);
        EXPECT_EQ(group.done().size(), 1u);
        auto first = co_await group.wait_first();
        EXPECT_EQ(first->as<int>().result(), 7);
    };
    loop.run_until_complete(main());
    EXPECT_THROW(task_group{}, coven::usage_error); // no loop on this thread
}

TEST(TaskGroup, AGroupDestroyedFirstLeavesItsTasksRunning) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        future<int> t;
        {
            task_group group(loop);
            t = group.create_task(sleep_then(2.0, 2));
        }
        EXPECT_EQ(co_await t, 2);
    };
    loop.run_until_complete(main());
}

namespace {
// Waits, shielded, on a task that waits on it: nothing ends either at loop stop.
auto deadlocked(future<void>* other) -> task<void> {
    co_await coven::skip_ready_cycle(); // *other is set by now
    coven::cancel_scope shielded;
    shielded.set_shield(true);
    co_await shielded.run(*other);
}
} // namespace

TEST(TaskGroup, LoopStopDestroysStuckTasksOfALiveGroupAndTheGroupForgetsThem) {
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    task_group group(*loop);
    struct pair {
        future<void> a, b;
    } st;
    auto main = [](task_group& g, pair& st) -> task<void> {
        st.a = g.create_task(deadlocked(&st.b));
        st.b = g.create_task(deadlocked(&st.a));
        co_await coven::sleep(1.0);
        st.a = {}; // only the loop and the group refer to them now
        st.b = {};
    };
    loop->run_until_complete(main(group, st));
    EXPECT_EQ(group.size(), 2u);
    loop.reset(); // stop(): both are stuck and destroyed; the group drops its references
    EXPECT_EQ(coven::testing::live().frames, 0);
}

TEST(TaskGroup, WaitingFromAnotherLoopIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::event_loop other(virtual_options());
    auto main = [&]() -> task<void> {
        task_group group(loop);
        group.create_task(sleep_then(1.0, 1));
        bool threw = false;
        other.run_until_complete([](task_group& g, bool& threw) -> task<void> {
            try {
                co_await g.wait_all();
            } catch (const coven::usage_error&) {
                threw = true;
            }
        }(group, threw));
        EXPECT_TRUE(threw);
        co_await group.wait_all();
    };
    loop.run_until_complete(main());
}
