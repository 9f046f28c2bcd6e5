#include <coven/task.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

using namespace coven_test;
using coven::task;

namespace {

auto answer(bool& ran) -> task<int> {
    ran = true;
    co_return 42;
}

auto add_one(int x) -> task<int> {
    co_return x + 1;
}

auto chain(int depth) -> task<int> {
    if (depth == 0) {
        co_return 0;
    }
    co_return co_await chain(depth - 1) + 1;
}

auto throws() -> task<int> {
    throw std::runtime_error("boom");
    co_return 0;
}

int g_value = 7;
auto ref() -> task<int&> {
    co_return g_value;
}

auto move_only() -> task<std::unique_ptr<int>> {
    co_return std::make_unique<int>(5);
}

auto void_task(int& out) -> task<void> {
    out = co_await add_one(1);
    co_return;
}

} // namespace

TEST(Task, CallingATaskFunctionRunsNothing) {
    bool ran = false;
    {
        auto t = answer(ran);
        EXPECT_TRUE(t.valid());
        EXPECT_FALSE(ran);
    }
    EXPECT_FALSE(ran);
}

TEST(Task, AwaitingRunsItAndReturnsTheValue) {
    coven::event_loop loop(virtual_options());
    bool ran = false;
    EXPECT_EQ(loop.run_until_complete(answer(ran)), 42);
    EXPECT_TRUE(ran);
}

TEST(Task, ValueVoidReferenceAndMoveOnlyResults) {
    coven::event_loop loop(virtual_options());
    int out = 0;
    loop.run_until_complete(void_task(out));
    EXPECT_EQ(out, 2);
    int& r = loop.run_until_complete(ref());
    EXPECT_EQ(&r, &g_value);
    auto p = loop.run_until_complete(move_only());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 5);
}

TEST(Task, ExceptionsPropagateToTheAwaiter) {
    coven::event_loop loop(virtual_options());
    auto outer = []() -> task<std::string> {
        try {
            co_await throws();
        } catch (const std::runtime_error& e) {
            co_return std::string("caught ") + e.what();
        }
        co_return "not thrown";
    };
    EXPECT_EQ(loop.run_until_complete(outer()), "caught boom");
    EXPECT_THROW(loop.run_until_complete(throws()), std::runtime_error);
}

TEST(Task, MillionDeepSynchronousChainDoesNotGrowTheStack) {
    // Compiled at -O0: symmetric transfer, not the optimiser, keeps the stack flat.
    coven::event_loop loop(virtual_options());
    EXPECT_EQ(loop.run_until_complete(chain(1'000'000)), 1'000'000);
}

TEST(Task, AwaitInsideConditionalExpressionAndLoops) {
    coven::event_loop loop(virtual_options());
    auto body = []() -> task<int> {
        int sum = 0;
        for (int i = 0; i < 10; ++i) {
            sum += (i % 2 == 0) ? co_await add_one(i) : co_await add_one(-i);
        }
        co_return sum;
    };
    EXPECT_EQ(loop.run_until_complete(body()), (1 + 3 + 5 + 7 + 9) + (0 - 2 - 4 - 6 - 8));
}

TEST(Task, CapturingLambdaStateSurvivesSuspension) {
    coven::event_loop loop(virtual_options());
    auto s = std::make_shared<int>(3);
    auto body = [](std::shared_ptr<int> v) -> task<int> {
        co_await coven::sleep(1ms);
        co_return *v * 2;
    };
    EXPECT_EQ(loop.run_until_complete(body(s)), 6);
}

TEST(Task, AwaitingATaskTwiceIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto body = []() -> task<void> {
        auto t = add_one(1);
        co_await t;
        EXPECT_THROW(co_await t, coven::usage_error);
    };
    loop.run_until_complete(body());
}

TEST(Task, SpawningAnEmptyTaskIsAUsageError) {
    coven::event_loop loop(virtual_options());
    task<int> empty;
    EXPECT_THROW(loop.run_until_complete(std::move(empty)), coven::usage_error);
}
