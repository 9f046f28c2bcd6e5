// tamed functions (T1-T3) and gather(): one declaration, called from synchronous code, from a
// task, and into a scope.
#include <coven/gather.hpp>
#include <coven/tamed.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

class Tamed : public ::testing::Test {
protected:
    void SetUp() override { coven::set_default_loop_options(virtual_options()); }
    void TearDown() override { coven::set_default_loop_options({}); }
    static auto now() -> double { return coven::this_thread_loop().time(); }
};

std::vector<std::string> g_log;

const coven::tamed slow_echo = [](std::string msg, double delay) -> task<void> {
    co_await coven::sleep(delay);
    g_log.push_back(msg);
};

const coven::tamed slow_add = [](int a, int b) -> task<int> {
    co_await coven::sleep(0.1);
    co_return a + b;
};

const coven::tamed faulty = [](double delay) -> task<int> {
    co_await coven::sleep(delay);
    throw std::runtime_error("Oh no!");
};

} // namespace

TEST_F(Tamed, FromSynchronousCodeACallBlocksAndReturnsItsValue) {
    g_log.clear();
    slow_echo("first", 1.0); // the statement form: blocks until done
    EXPECT_EQ(g_log, std::vector<std::string>{"first"});
    EXPECT_DOUBLE_EQ(now(), 1.0);
    int v = slow_add(2, 3); // converts to its value
    EXPECT_EQ(v, 5);
    EXPECT_EQ(slow_add(1, 1).get(), 2);
    EXPECT_DOUBLE_EQ(now(), 1.2);
}

TEST_F(Tamed, FromSynchronousCodeAFailureIsRaised) {
    EXPECT_THROW(faulty(0.1), std::runtime_error); // raised by the statement's end
    EXPECT_THROW((void)faulty(0.1).get(), std::runtime_error);
}

TEST_F(Tamed, FromATaskACallIsAwaitedAndManyRunConcurrently) {
    g_log.clear();
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto first = slow_echo("async 1", 1.0);
        auto second = slow_echo("async .1", 0.1);
        auto third = slow_echo("async .5", 0.5);
        co_await std::move(second);
        co_await coven::gather(std::move(first), std::move(third));
        EXPECT_EQ(co_await slow_add(4, 5), 9);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(g_log, (std::vector<std::string>{"async .1", "async .5", "async 1"}));
    EXPECT_DOUBLE_EQ(loop.time(), 1.2); // .1, then 1 and .5 together, then .1 more
}

TEST_F(Tamed, WithInScopeACallIsScheduledAndReturnsADelayedResult) {
    g_log.clear();
    coven::delayed_result<int> sum;
    {
        coven::async_scope scope;
        slow_echo("scoped", 0.2, coven::in_scope(scope));
        sum = slow_add(20, 22, coven::in_scope(scope));
        EXPECT_TRUE(g_log.empty()); // scheduled, not run
    }
    EXPECT_EQ(g_log, std::vector<std::string>{"scoped"});
    EXPECT_EQ(sum.value(), 42);
    EXPECT_DOUBLE_EQ(now(), 0.2);
}

TEST_F(Tamed, ABlockingCallInsideATaskIsAUsageErrorNotADeadlock) {
    static std::vector<std::string> reported;
    reported.clear();
    coven::set_unobserved_exception_handler([](std::exception_ptr e, const std::string&) {
        try {
            std::rethrow_exception(e);
        } catch (const coven::usage_error& u) {
            reported.emplace_back(u.what());
        } catch (...) {
        }
    });
    g_log.clear();
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        slow_echo("forgot co_await", 0.1); // not run: reported (a destructor cannot throw here)
        EXPECT_THROW((void)slow_add(1, 2).get(), coven::usage_error);
        co_return;
    };
    loop.run_until_complete(main());
    coven::set_unobserved_exception_handler(nullptr);
    EXPECT_TRUE(g_log.empty());
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_NE(reported[0].find("without co_await"), std::string::npos);
}

TEST_F(Tamed, ACallOwnsItsCallableAndArguments) {
    coven::delayed_result<int> r;
    {
        coven::async_scope scope;
        {
            int offset = 40;
            const coven::tamed local = [offset](const int& a) -> task<int> {
                co_await coven::sleep(0.1);
                co_return a + offset; // runs at the scope's end: `local` and `a`'s temporary
            };                        // are gone by then; the call holds copies
            r = local(2, coven::in_scope(scope));
        }
    }
    EXPECT_EQ(r.value(), 42);
}

TEST_F(Tamed, GatherTakesReferenceResults) {
    coven::event_loop loop(virtual_options());
    int target = 5;
    auto ref = [](int& t) -> task<int&> { co_return t; };
    auto main = [&]() -> task<void> {
        auto [r] = co_await coven::gather(ref(target));
        r = 6;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(target, 6);
}

TEST_F(Tamed, ACallDroppedWhileAnExceptionUnwindsDoesNotRun) {
    g_log.clear();
    try {
        auto call = slow_echo("never", 0.1);
        throw std::logic_error("leaving");
    } catch (const std::logic_error&) {
    }
    EXPECT_TRUE(g_log.empty());
}

TEST_F(Tamed, GatherReturnsEveryResultInOrder) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto [a, b, c] = co_await coven::gather(sleep_then(0.3, 1), slow_add(1, 1), sleep_for(0.2));
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, 2);
        (void)c; // std::monostate for a void call
        EXPECT_DOUBLE_EQ(loop.time(), 0.3);
    };
    loop.run_until_complete(main());
}

TEST_F(Tamed, GatherCancelsTheOthersAtTheFirstFailure) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto slow = [](std::vector<std::string>& l) -> task<void> {
            co_await coven::sleep(10.0);
            l.emplace_back("slow finished");
        };
        co_await coven::gather(slow(log), faulty(0.5));
    };
    EXPECT_THROW(loop.run_until_complete(main()), std::runtime_error);
    EXPECT_TRUE(log.empty());
    EXPECT_DOUBLE_EQ(loop.time(), 0.5);
}
