#include <coven/any_future.hpp>
#include <coven/future.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

auto after(double seconds, int value) -> task<int> {
    co_await coven::sleep(seconds);
    co_return value;
}

auto fail_after(double seconds) -> task<int> {
    co_await coven::sleep(seconds);
    throw std::runtime_error("failed");
}

int g_unobserved = 0;
void count_unobserved(std::exception_ptr, const std::string&) {
    ++g_unobserved;
}

} // namespace

TEST(Future, CreateTaskSchedulesAndManyCanAwaitIt) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<int> {
        auto f = loop.create_task(after(1.0, 21));
        EXPECT_FALSE(f.done());
        auto a = loop.create_task([](future<int> f) -> task<int> { co_return co_await f; }(f));
        auto b = loop.create_task([](future<int> f) -> task<int> { co_return co_await f; }(f));
        int x = co_await a + co_await b;
        EXPECT_TRUE(f.done());
        EXPECT_EQ(f.result(), 21);
        co_return x;
    };
    EXPECT_EQ(loop.run_until_complete(body()), 42);
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST(Future, ResultBeforeTheEndIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(after(1.0, 1));
        EXPECT_THROW(f.result(), coven::usage_error);
        EXPECT_THROW((void)f.exception(), coven::usage_error);
        co_await f;
    };
    loop.run_until_complete(body());
}

TEST(Future, ExceptionIsRethrownToEveryAwaiterAndByResult) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(fail_after(0.5));
        EXPECT_THROW(co_await f, std::runtime_error);
        EXPECT_THROW(co_await f, std::runtime_error);
        EXPECT_THROW(f.result(), std::runtime_error);
        EXPECT_TRUE(f.exception() != nullptr);
    };
    loop.run_until_complete(body());
}

TEST(Future, DoneCallbacksRunOnceInOrderAndAtOnceWhenAlreadyDone) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> seen;
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(after(1.0, 3));
        f.add_done_callback(
            [&](future<int>& d) { seen.push_back("a" + std::to_string(d.result())); });
        f.add_done_callback(
            [&](future<int>& d) { seen.push_back("b" + std::to_string(d.result())); });
        co_await f;
        EXPECT_EQ(seen.size(), 2u);
        f.add_done_callback([&](future<int>&) { seen.push_back("late"); });
    };
    loop.run_until_complete(body());
    EXPECT_EQ(seen, (std::vector<std::string>{"a3", "b3", "late"}));
}

TEST(Future, ThrowingCallbackGoesToTheLoopsHandler) {
    coven::event_loop loop(virtual_options());
    int handled = 0;
    loop.set_exception_handler([&](std::exception_ptr) { ++handled; });
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(after(0.1, 1));
        f.add_done_callback([](future<int>&) { throw std::runtime_error("callback"); });
        co_await f;
    };
    loop.run_until_complete(body());
    EXPECT_EQ(handled, 1);
}

TEST(Future, ACallbackAddedAfterTheEndThrowsToTheLoopsHandlerNotToTheCaller) {
    coven::event_loop loop(virtual_options());
    int handled = 0;
    loop.set_exception_handler([&](std::exception_ptr) { ++handled; });
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(after(0.1, 1));
        co_await f;
        EXPECT_NO_THROW(
            f.add_done_callback([](future<int>&) { throw std::runtime_error("late callback"); }));
    };
    loop.run_until_complete(body());
    EXPECT_EQ(handled, 1);
}

TEST(Future, ADoneFutureAnswersWithoutItsLoopOnceTheLoopIsGone) {
    future<int> f;
    {
        coven::event_loop loop(virtual_options());
        f = loop.create_task(after(1.0, 7));
        loop.run_until_complete([](future<int> g) -> task<void> { co_await g.wait(); }(f));
    }
    // Each of these used to read the destroyed loop (use after free under ASan).
    EXPECT_FALSE(f.cancel());
    EXPECT_FALSE(f.abort());
    EXPECT_FALSE(coven::any_future(f).cancel());
    EXPECT_FALSE(coven::any_future(f).abort());
    EXPECT_EQ(f.result(), 7);
    coven::event_loop other(virtual_options());
    EXPECT_EQ(other.run_until_complete([](future<int> g) -> task<int> { co_return co_await g; }(f)),
              7);
}

TEST(Future, ALoopDestroyedBeforeItsTaskRanEndsTheTaskCancelled) {
    future<int> f;
    {
        coven::event_loop loop(virtual_options());
        f = loop.create_task(after(1.0, 7));
    }
    // No future of a destroyed loop is left pending: the loop ends every task it has.
    EXPECT_TRUE(f.done());
    EXPECT_TRUE(f.cancelled());
    EXPECT_FALSE(f.cancel());
    EXPECT_THROW((void)f.result(), coven::cancelled_error);
}

TEST(Future, NamesDefaultToTheAddressAndCanBeSet) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<void> {
        auto f = loop.create_task(after(0, 1), "worker");
        EXPECT_EQ(f.name(), "worker");
        f.set_name("renamed");
        EXPECT_EQ(f.name(), "renamed");
        auto g = loop.create_task(after(0, 1));
        EXPECT_EQ(g.name().rfind("task@", 0), 0u);
        co_await f;
        co_await g;
    };
    loop.run_until_complete(body());
}

TEST(Future, UnretrievedExceptionIsReportedOnceWhenTheLastHandleGoes) {
    coven::set_unobserved_exception_handler(&count_unobserved);
    g_unobserved = 0;
    {
        coven::event_loop loop(virtual_options());
        auto body = [&]() -> task<void> {
            {
                auto dropped = loop.create_task(fail_after(0.1)); // dropped early
            }
            auto kept = loop.create_task(fail_after(0.1));
            co_await coven::sleep(1.0);
            EXPECT_EQ(g_unobserved, 1);
            // `kept` goes out of scope unobserved too
        };
        loop.run_until_complete(body());
        EXPECT_EQ(g_unobserved, 2);
        auto observed = [&]() -> task<void> {
            auto f = loop.create_task(fail_after(0.1));
            EXPECT_THROW(co_await f, std::runtime_error);
        };
        loop.run_until_complete(observed());
        EXPECT_EQ(g_unobserved, 2);
    }
    coven::set_unobserved_exception_handler(nullptr);
}

TEST(Future, TheUnobservedExceptionHandlerMayBeAnyCallable) {
    std::vector<std::string> names;
    coven::set_unobserved_exception_handler( // a lambda with a capture: no function pointer
        [&names](std::exception_ptr, const std::string& name) { names.push_back(name); });
    {
        coven::event_loop loop(virtual_options());
        auto f = loop.create_task(fail_after(0.1), "lost");
        loop.run_until_complete([](future<int> g) -> task<void> { co_await g.wait(); }(f));
    }
    coven::set_unobserved_exception_handler(nullptr);
    EXPECT_EQ(names, (std::vector<std::string>{"lost"}));
}

TEST(Future, EmptyFutureIsAUsageError) {
    future<int> f;
    EXPECT_FALSE(f.valid());
    EXPECT_THROW((void)f.done(), coven::usage_error);
}

TEST(Future, TaskAwaitingItsOwnFutureIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<void> {
        future<void>* self = nullptr;
        auto inner = [](future<void>** s) -> task<void> {
            co_await coven::skip_ready_cycle();
            EXPECT_THROW(co_await **s, coven::usage_error);
        };
        auto f = loop.create_task(inner(&self));
        self = &f;
        co_await f;
    };
    loop.run_until_complete(body());
}
