// await_sync(), sync_function and async_function (K3, K4): async code run to its end from
// synchronous code, with no loop.
#include <coven/async_scope.hpp>
#include <coven/await_sync.hpp>
#include <coven/cancel_scope.hpp>
#include <coven/eager.hpp>
#include <coven/source_location.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

auto add(int a, int b) -> task<int> {
    co_return a + b;
}

auto nested(int depth) -> task<int> {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await nested(depth - 1);
}

unsigned g_sleep_line = 0;

auto blocks_on_sleep(std::vector<std::string>& log) -> task<int> {
    log.emplace_back("before");
    try {
        g_sleep_line = coven::source_location::current().line() + 1;
        co_await coven::sleep(1.0); // the line the error names
    } catch (const coven::cancelled_error&) {
        log.emplace_back("unwound");
        throw;
    }
    log.emplace_back("never");
    co_return 1;
}

auto throws() -> task<int> {
    co_await add(1, 1);
    throw std::runtime_error("sync failure");
}

} // namespace

TEST(AwaitSync, RunsAsyncCodeThatNeverSuspendsWithNoLoop) {
    EXPECT_EQ(coven::await_sync(add(2, 3)), 5);
    EXPECT_EQ(coven::await_sync(nested(10'000)), 10'000); // a deep chain of awaited sub-tasks
    EXPECT_EQ(coven::current_loop(), nullptr);
}

TEST(AwaitSync, RaisesWhatTheCoroutineThrows) {
    EXPECT_THROW(coven::await_sync(throws()), std::runtime_error);
}

TEST(AwaitSync, ARealSuspensionIsASynchronousErrorThatSaysWhereAndUnwinds) {
    std::vector<std::string> log;
    try {
        (void)coven::await_sync(blocks_on_sleep(log));
        ADD_FAILURE() << "no synchronous_error";
    } catch (const coven::synchronous_error& e) {
        EXPECT_NE(std::string(e.where().file_name()).find("await_sync_test.cpp"),
                  std::string::npos);
        EXPECT_EQ(e.where().line(), g_sleep_line); // the sleep() in blocks_on_sleep
        EXPECT_NE(std::string(e.what()).find("await_sync_test.cpp:" + std::to_string(g_sleep_line)),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(log, (std::vector<std::string>{"before", "unwound"}));
}

TEST(AwaitSync, NoLoopIsVisibleInsideSoMakingTasksIsAUsageError) {
    auto body = []() -> task<int> {
        EXPECT_EQ(coven::current_loop(), nullptr);
        EXPECT_THROW((void)coven::eager(add(1, 1)), coven::usage_error);
        co_return 1;
    };
    EXPECT_EQ(coven::await_sync(body()), 1);
}

TEST(AwaitSync, WorksInsideATaskWithoutTouchingItsLoop) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_EQ(coven::await_sync(add(1, 2)), 3);
        EXPECT_EQ(coven::current_loop(), &loop); // restored
        co_await coven::sleep(0.1);
    };
    loop.run_until_complete(main());
}

TEST(AwaitSync, SyncFunctionAndAsyncFunctionBridgeCallbacks) {
    const coven::sync_function sync_client = [](auto callback) -> task<std::string> {
        std::string got = co_await callback(); // middleware written once, async
        co_return "client got " + got;
    };
    const coven::async_function sync_callback = [] { return std::string("sync data"); };
    EXPECT_EQ(sync_client(sync_callback), "client got sync data");
}

TEST(AwaitSync, AwaitingATaskOfARealLoopIsAUsageErrorNotAHang) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto work = coven::current_loop()->create_task(sleep_then(1.0, 3));
        auto consume = [](coven::future<int>& f) -> task<int> { co_return co_await f; };
        EXPECT_THROW((void)coven::await_sync(consume(work)), coven::usage_error);
        EXPECT_FALSE(work.cancelled()); // the loop's task is not touched
        EXPECT_EQ(co_await work, 3);
    };
    loop.run_until_complete(main());
}

TEST(AwaitSync, BlockingBridgesInsideARunInATaskStillRefuse) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto body = []() -> task<int> {
            coven::async_scope* made = nullptr;
            EXPECT_THROW(made = new coven::async_scope(), coven::usage_error); // would stall
            delete made;
            co_return 1;
        };
        EXPECT_EQ(coven::await_sync(body()), 1);
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(AwaitSync, ARunThatShieldsItselfIsStillUnwoundBeforeTheErrorIsRaised) {
    auto stubborn = []() -> task<int> {
        coven::cancel_scope shielded;
        shielded.set_shield(true);
        co_await shielded.run([] { return coven::skip_ready_cycle(); }); // one turn: no hang
        co_return 1;
    };
    EXPECT_THROW((void)coven::await_sync(stubborn()), coven::synchronous_error);
}

TEST(AwaitSync, ANestedRunThatBlocksIsUnwoundWithoutTouchingTheRunAroundIt) {
    // The inner run blocks and is unwound; the outer run, whose turn is on the stack below it,
    // is neither cancelled nor destroyed, and goes on to its end.
    std::vector<std::string> log;
    auto outer = [](std::vector<std::string>& log) -> task<int> {
        try {
            (void)coven::await_sync(blocks_on_sleep(log));
            log.emplace_back("no error");
        } catch (const coven::synchronous_error&) {
            log.emplace_back("inner blocked");
        }
        log.emplace_back("outer goes on");
        co_return 1 + co_await add(1, 1);
    };
    EXPECT_EQ(coven::await_sync(outer(log)), 3);
    EXPECT_EQ(log,
              (std::vector<std::string>{"before", "unwound", "inner blocked", "outer goes on"}));
}

TEST(AwaitSync, ARunInTheCleanupOfABlockedRunIsUnwoundAtItsOwnCall) {
    // The outer run blocks and is unwound; its cleanup runs another that blocks too. That one is
    // unwound before its synchronous_error is raised, as at any other await_sync() call.
    std::vector<std::string> log;
    auto outer = [](std::vector<std::string>& log) -> task<int> {
        try {
            co_await coven::sleep(1.0);
        } catch (const coven::cancelled_error&) {
            try {
                (void)coven::await_sync(blocks_on_sleep(log));
            } catch (const coven::synchronous_error&) {
                log.emplace_back("inner error");
            }
            throw;
        }
        co_return 1;
    };
    EXPECT_THROW((void)coven::await_sync(outer(log)), coven::synchronous_error);
    EXPECT_EQ(log, (std::vector<std::string>{"before", "unwound", "inner error"}));
}
