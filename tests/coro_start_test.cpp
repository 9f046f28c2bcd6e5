// coro_start<T> (K6) and contexts (coro_await, context::run; K7).
#include <coven/coro_start.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::coro_start;
using coven::task;

namespace {

struct reload : std::runtime_error {
    reload() : std::runtime_error("reload") {}
};

auto immediate(int v) -> task<int> {
    co_return v;
}

auto fails_at_once() -> task<int> {
    throw std::runtime_error("at once");
    co_return 0;
}

auto logged_sleep(std::vector<std::string>& log, double seconds, int v) -> task<int> {
    log.emplace_back("started");
    co_await coven::sleep(seconds);
    log.emplace_back("finished");
    co_return v;
}

/// Waits; on `reload`, cleans up for `cleanup` seconds (0: none) and returns `v`.
auto catches_reload(double cleanup, int v) -> task<int> {
    bool caught = false;
    try {
        co_await coven::sleep(100.0);
    } catch (const reload&) {
        caught = true;
    }
    if (caught && cleanup > 0) {
        co_await coven::sleep(cleanup);
    }
    co_return caught ? v : -1;
}

coven::task_local<std::string> g_var("unset");

auto set_var(std::string v) -> task<std::string> {
    g_var.set(std::move(v));
    co_await coven::sleep(0.1);
    co_return g_var.get();
}

} // namespace

TEST(CoroStart, ACoroutineThatDoesNotWaitIsDoneAtOnce) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coro_start<int> c(immediate(5));
        EXPECT_TRUE(c.done());
        EXPECT_EQ(c.result(), 5);
        EXPECT_EQ(c.exception(), nullptr);
        EXPECT_TRUE(c.as_future().done());
        EXPECT_EQ(co_await c, 5);
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, OneThatWaitsRunsUntilItsFirstWaitThenTheCallerGoesOn) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coro_start<int> c(logged_sleep(log, 1.0, 7));
        log.emplace_back("caller");
        EXPECT_FALSE(c.done());
        EXPECT_THROW((void)c.result(), coven::not_ready_error);
        EXPECT_THROW((void)c.exception(), coven::not_ready_error);
        EXPECT_EQ(co_await std::move(c), 7);
        EXPECT_EQ(vtime(loop), 1.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"started", "caller", "finished"}));
}

TEST(CoroStart, AFailureInTheFirstRunIsKeptForResultExceptionAndAwait) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coro_start<int> c(fails_at_once());
        EXPECT_TRUE(c.done());
        EXPECT_NE(c.exception(), nullptr);
        EXPECT_THROW((void)c.result(), std::runtime_error);
        EXPECT_THROW(co_await c, std::runtime_error);
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, AsFutureAndAsTaskWorkBeforeItIsDone) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coro_start<int> c(logged_sleep(log, 1.0, 3));
        auto f = c.as_future();
        EXPECT_FALSE(f.done());
        EXPECT_EQ(co_await c.as_task(), 3);
        EXPECT_EQ(co_await f, 3);
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, ThrowExceptionRaisesWhereItWaitsAndRethrowsWhatItEndsWith) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coro_start<int> c(logged_sleep(log, 10.0, 1));
        EXPECT_THROW(c.throw_exception(reload{}), reload);
        EXPECT_TRUE(c.done());
        EXPECT_THROW(co_await c, reload);
        EXPECT_EQ(vtime(loop), 0.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"started"});
}

TEST(CoroStart, ThrowExceptionReturnsWhenItCatchesAndReturns) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coro_start<int> c(catches_reload(0.0, 9));
        c.throw_exception(reload{});
        EXPECT_TRUE(c.done());
        EXPECT_EQ(c.result(), 9);
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, ThrowExceptionIsAUsageErrorWhenItWaitsAgainAndAthrowWaits) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coro_start<int> sync(catches_reload(2.0, 4));
        EXPECT_THROW(sync.throw_exception(reload{}), coven::usage_error);
        EXPECT_EQ(co_await sync, 4); // it runs on: its cleanup ends at 2.0
        EXPECT_EQ(vtime(loop), 2.0);

        coro_start<int> async(catches_reload(1.0, 5));
        EXPECT_EQ(co_await async.athrow(std::make_exception_ptr(reload{})), 5);
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, CloseEndsItCancelledAndAcloseWaitsForItsCleanup) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coro_start<int> quick(logged_sleep(log, 10.0, 1));
        quick.close();
        EXPECT_TRUE(quick.done());
        EXPECT_THROW((void)quick.result(), coven::cancelled_error);
        quick.close(); // once done: no effect

        coro_start<void> slow(sleep_with_slow_cleanup(10.0, 2.0, log));
        EXPECT_THROW(slow.close(), coven::usage_error); // its cleanup awaits
        co_await slow.as_future().wait();               // (aclose() would cut it short)
        EXPECT_TRUE(slow.done());
        EXPECT_EQ(vtime(loop), 2.0);

        coro_start<void> slow_again(sleep_with_slow_cleanup(10.0, 1.0, log));
        co_await slow_again.aclose();
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"started", "cleanup done", "cleanup done"}));
}

TEST(CoroStart, CloseRethrowsAFailureRaisedDuringTheUnwinding) {
    coven::event_loop loop(virtual_options());
    auto body = []() -> task<void> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            throw std::logic_error("cleanup failed");
        }
    };
    auto main = [&]() -> task<void> {
        coro_start<void> c(body());
        EXPECT_THROW(c.close(), std::logic_error);
        coro_start<void> d(body());
        EXPECT_THROW(co_await d.aclose(), std::logic_error);
    };
    loop.run_until_complete(main());
}

TEST(CoroStart, CancellingTheAwaiterCancelsTheCoroutine) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto awaiter = [](std::vector<std::string>& log) -> task<void> {
        coro_start<int> c(logged_sleep(log, 10.0, 1));
        auto f = c.as_future();
        try {
            co_await c;
        } catch (const coven::cancelled_error&) {
            log.emplace_back(f.cancelled() ? "both cancelled" : "only the awaiter");
        }
    };
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(awaiter(log));
        co_await coven::sleep(1.0);
        a.cancel();
        co_await a.wait();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"started", "both cancelled"}));
}

TEST(CoroStart, OutsideALoopIsAUsageError) {
    EXPECT_THROW(coro_start<int>(immediate(1)), coven::usage_error);
}

TEST(Context, CoroAwaitRunsTheCoroutineInTheGivenContext) {
    // asynkit's example: the coroutine changes the copied context, not the caller's values.
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto ctx = coven::context::copy();
        g_var.set("bar");
        EXPECT_EQ(co_await coven::coro_await(set_var("foo"), ctx), "foo");
        EXPECT_EQ(g_var.get(), "bar");
        EXPECT_EQ(ctx.get(g_var), "foo");
        // The next user of the context sees what the last one left.
        auto read = []() -> task<std::string> { co_return g_var.get(); };
        EXPECT_EQ(co_await coven::coro_await(read(), ctx), "foo");
    };
    loop.run_until_complete(main());
}

TEST(Context, ACopyHoldsTheValuesOfTheMomentItWasTaken) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_var.set("before");
        auto ctx = coven::context::copy();
        g_var.set("after");
        EXPECT_EQ(ctx.get(g_var), "before");
        EXPECT_EQ(coven::context().get(g_var), "unset"); // an empty context
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(Context, RunCallsAFunctionInTheContextInATaskAndOutside) {
    coven::context ctx;
    ctx.run([] { g_var.set("outside"); });
    EXPECT_EQ(g_var.get(), "unset"); // the thread's own values are untouched
    EXPECT_EQ(ctx.get(g_var), "outside");

    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_var.set("task");
        EXPECT_EQ(ctx.run([] { return g_var.get(); }), "outside");
        ctx.run([] { g_var.set("inside"); });
        EXPECT_EQ(g_var.get(), "task");
        co_return;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(ctx.get(g_var), "inside");
}

TEST(Context, EnteringAContextInUseIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coven::context ctx;
        coro_start<std::string> first(set_var("one"), ctx);
        EXPECT_THROW(coro_start<std::string>(set_var("two"), ctx), coven::usage_error);
        EXPECT_THROW(ctx.run([] {}), coven::usage_error);
        EXPECT_EQ(co_await first, "one");
        EXPECT_EQ(co_await coven::coro_await(set_var("three"), ctx), "three"); // free again
        EXPECT_EQ(ctx.run([] { return g_var.get(); }), "three");
    };
    loop.run_until_complete(main());
}
