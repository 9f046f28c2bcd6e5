// eager() and create_task_descend() (K1, K2, K15): depth-first starts.
#include <coven/eager.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

auto logged(std::vector<std::string>& log, double seconds) -> task<int> {
    log.emplace_back("1");
    co_await coven::sleep(seconds);
    log.emplace_back("2");
    co_return 7;
}

auto immediate(int v) -> task<int> {
    co_return v;
}

auto throws_at_once() -> task<int> {
    throw std::runtime_error("early");
    co_return 0;
}

} // namespace

TEST(Eager, RunsTheCoroutineUntilItFirstSuspendsThenTheCallerGoesOn) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        log.emplace_back("a");
        auto f = coven::eager(logged(log, 0.2));
        log.emplace_back("b");
        EXPECT_FALSE(f.done());
        co_await coven::sleep(0.1);
        log.emplace_back("c");
        EXPECT_EQ(co_await f, 7);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a", "1", "b", "c", "2"}));
}

TEST(Eager, ACoroutineThatDoesNotSuspendGivesADoneFuture) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = coven::eager(immediate(3));
        EXPECT_TRUE(f.done()); // finished inside eager()
        EXPECT_EQ(f.result(), 3);
        auto g = coven::eager(throws_at_once());
        EXPECT_TRUE(g.done());
        EXPECT_THROW(g.result(), std::runtime_error);
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(Eager, CreateTaskDescendStartsDepthFirstToo) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        log.emplace_back("a");
        auto f = coven::create_task_descend(logged(log, 0.1));
        log.emplace_back("b");
        co_await f;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a", "1", "b", "2"}));
}

TEST(Eager, AnEagerFunctionStartsEveryCallEagerly) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    const coven::eager_function fetch = [&log](double seconds) -> task<int> {
        log.emplace_back("started");
        co_await coven::sleep(seconds);
        co_return 1;
    };
    auto main = [&]() -> task<void> {
        auto f = fetch(0.5);
        log.emplace_back("caller");
        EXPECT_EQ(co_await f, 1);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"started", "caller"}));
}

TEST(Eager, OutsideALoopIsAUsageError) {
    EXPECT_THROW((void)coven::eager(immediate(1)), coven::usage_error);
}

TEST(Eager, AnEagerTaskIsCancellableLikeAnyOther) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = coven::eager(logged(log, 5.0));
        f.cancel();
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"1"});
    EXPECT_DOUBLE_EQ(loop.time(), 0.0);
}
