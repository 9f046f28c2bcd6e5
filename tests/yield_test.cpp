#include <coven/yield.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

TEST(Yield, SkipReadyCycleLetsEveryReadyTaskRunFirst) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> order;
    auto first = [&]() -> task<void> {
        order.push_back("first");
        co_return;
    };
    auto second = [&]() -> task<void> {
        co_await coven::skip_ready_cycle();
        order.push_back("second");
    };
    auto main = [&]() -> task<void> {
        auto b = loop.create_task(second());
        auto a = loop.create_task(first());
        co_await b;
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
}

TEST(Yield, PingPongAlternatesStrictly) {
    coven::event_loop loop(virtual_options());
    std::string trace;
    auto player = [&](char c) -> task<void> {
        for (int i = 0; i < 5; ++i) {
            trace += c;
            co_await coven::skip_ready_cycle();
        }
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(player('a'));
        auto b = loop.create_task(player('b'));
        co_await a;
        co_await b;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(trace, "ababababab");
}

TEST(Yield, SkipPollCycleResumesAfterTheNextPollOnly) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> order;
    auto main = [&]() -> task<void> {
        auto polls = loop.statistics().polls;
        // (Coroutine lambdas get their state as parameters: a capturing temporary lambda would
        // be gone before the task runs.)
        auto w = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            co_await coven::skip_poll_cycle();
            o.push_back("world");
        }(order));
        auto h = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            for (int i = 0; i < 10; ++i) {
                co_await coven::skip_ready_cycle();
            }
            o.push_back("hello");
        }(order));
        co_await w;
        co_await h;
        EXPECT_EQ(loop.statistics().polls, polls + 1);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<std::string>{"hello", "world"}));
}

TEST(Yield, TaskParkedAgainAfterAPollWaitsForTheNextOne) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto before = loop.statistics().polls;
        for (int i = 0; i < 5; ++i) {
            co_await coven::skip_poll_cycle();
        }
        EXPECT_EQ(loop.statistics().polls, before + 5);
    };
    loop.run_until_complete(main());
}

TEST(Yield, OutsideATaskIsAUsageError) {
    auto a = coven::skip_ready_cycle();
    EXPECT_THROW(a.await_suspend(std::noop_coroutine()), coven::usage_error);
    auto b = coven::skip_poll_cycle();
    EXPECT_THROW(b.await_suspend(std::noop_coroutine()), coven::usage_error);
}
