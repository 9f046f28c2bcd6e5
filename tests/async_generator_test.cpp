// async_generator<T> and aiter_sync() (K5).
#include <coven/async_generator.hpp>
#include <coven/event.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::async_generator;
using coven::task;

namespace {

auto numbers(int n) -> async_generator<int> {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
}

auto ticks(int n, double every) -> async_generator<int> {
    for (int i = 0; i < n; ++i) {
        co_await coven::sleep(every);
        co_yield i;
    }
}

auto fails_after(int n) -> async_generator<int> {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
    throw std::runtime_error("generator failed");
}

auto sub_task(int v) -> task<int> {
    co_return v * 10;
}

auto awaits_sub_tasks(int n) -> async_generator<int> {
    for (int i = 0; i < n; ++i) {
        co_yield co_await sub_task(i);
    }
}

struct counted {
    explicit counted(int& live) : m_live(&live) { ++*m_live; }
    counted(const counted&) = delete;
    auto operator=(const counted&) -> counted& = delete;
    ~counted() { --*m_live; }
    int* m_live;
};

auto holds_a_resource(int& live) -> async_generator<int> {
    counted held(live);
    for (int i = 0;; ++i) {
        co_yield i;
    }
}

} // namespace

TEST(AsyncGenerator, YieldsItsValuesInOrderThenNothing) {
    coven::event_loop loop(virtual_options());
    auto main = []() -> task<std::vector<int>> {
        std::vector<int> got;
        auto gen = numbers(3);
        while (auto v = co_await gen.next()) {
            got.push_back(*v);
        }
        EXPECT_TRUE(gen.done());
        EXPECT_EQ(co_await gen.next(), std::nullopt); // ended: stays ended
        co_return got;
    };
    EXPECT_EQ(loop.run_until_complete(main()), (std::vector<int>{0, 1, 2}));
}

TEST(AsyncGenerator, MayAwaitBetweenValues) {
    coven::event_loop loop(virtual_options());
    std::vector<double> times;
    auto main = [&]() -> task<void> {
        auto gen = ticks(3, 1.0);
        while (auto v = co_await gen.next()) {
            times.push_back(vtime(loop));
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(times, (std::vector<double>{1.0, 2.0, 3.0}));
}

TEST(AsyncGenerator, AFailureComesOutOfNextAndEndsIt) {
    coven::event_loop loop(virtual_options());
    auto main = []() -> task<void> {
        auto gen = fails_after(1);
        EXPECT_EQ(co_await gen.next(), 0);
        EXPECT_THROW(co_await gen.next(), std::runtime_error);
        EXPECT_TRUE(gen.done());
        EXPECT_EQ(co_await gen.next(), std::nullopt);
    };
    loop.run_until_complete(main());
}

TEST(AsyncGenerator, CancellingTheConsumerReachesTheAwaitInsideTheGenerator) {
    coven::event_loop loop(virtual_options());
    std::vector<int> got;
    auto consumer = [](std::vector<int>& got) -> task<void> {
        auto gen = ticks(10, 1.0);
        while (auto v = co_await gen.next()) {
            got.push_back(*v);
        }
    };
    auto main = [&]() -> task<void> {
        auto c = coven::current_loop()->create_task(consumer(got));
        co_await coven::sleep(2.5);
        c.cancel();
        co_await c.wait();
        EXPECT_TRUE(c.cancelled());
        EXPECT_EQ(vtime(loop), 2.5); // the sleep inside the generator was cut
    };
    loop.run_until_complete(main());
    EXPECT_EQ(got, (std::vector<int>{0, 1}));
}

TEST(AsyncGenerator, DestroyingItMidwayRunsItsCleanup) {
    coven::event_loop loop(virtual_options());
    int live = 0;
    auto main = [&]() -> task<void> {
        {
            auto gen = holds_a_resource(live);
            EXPECT_EQ(co_await gen.next(), 0);
            EXPECT_EQ(co_await gen.next(), 1);
            EXPECT_EQ(live, 1);
        }
        EXPECT_EQ(live, 0);
    };
    loop.run_until_complete(main());
}

/// Waits on `ev` inside the body, ignoring every cancellation of the wait.
auto stuck_inside(coven::event& ev, int& live) -> async_generator<int> {
    counted held(live);
    for (;;) {
        try {
            co_await ev.wait();
            co_yield 1;
        } catch (const coven::cancelled_error&) {
        }
    }
}

TEST(AsyncGenerator, LoopStopDestroysAConsumerStuckInsideTheBody) {
    for (const bool referenced : {false, true}) {
        SCOPED_TRACE(referenced ? "a future refers to the consumer" : "nothing refers to it");
        coven::event ev;
        int live = 0;
        coven::event_loop loop(virtual_options());
        auto consumer = [](coven::event& ev, int& live) -> task<void> {
            auto gen = stuck_inside(ev, live);
            while (auto v = co_await gen.next()) {
            }
        };
        auto f = loop.create_task(consumer(ev, live));
        if (!referenced) {
            f = {};
        }
        loop.run_until_complete(sleep_for(1.0));
        EXPECT_EQ(live, 1);
        loop.stop(); // the consumer's frame goes where it waits: inside the body
        EXPECT_EQ(live, 0);
        EXPECT_EQ(ev.statistics().waiting, 0u); // the body's wait left the event
        EXPECT_EQ(loop.statistics().live_tasks, 0u);
        if (referenced) {
            EXPECT_TRUE(f.cancelled());
        }
    }
}

TEST(AsyncGenerator, AnEmptyOneIsAUsageError) {
    async_generator<int> empty;
    EXPECT_TRUE(empty.done());
    EXPECT_THROW((void)empty.next(), coven::usage_error);
}

TEST(AiterSync, IteratesAGeneratorWithNoLoop) {
    std::vector<int> got;
    for (int v : coven::aiter_sync(numbers(3))) {
        got.push_back(v);
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    got.clear();
    for (int v : coven::aiter_sync(awaits_sub_tasks(3))) { // awaits that finish at once are fine
        got.push_back(v);
    }
    EXPECT_EQ(got, (std::vector<int>{0, 10, 20}));
}

TEST(AiterSync, AGeneratorThatReallySuspendsIsASynchronousError) {
    std::vector<int> got;
    auto iterate = [&] {
        for (int v : coven::aiter_sync(ticks(3, 1.0))) {
            got.push_back(v);
        }
    };
    EXPECT_THROW(iterate(), coven::synchronous_error);
    EXPECT_TRUE(got.empty());
}

TEST(AiterSync, AFailureOfTheGeneratorPropagates) {
    std::vector<int> got;
    auto iterate = [&] {
        for (int v : coven::aiter_sync(fails_after(2))) {
            got.push_back(v);
        }
    };
    EXPECT_THROW(iterate(), std::runtime_error);
    EXPECT_EQ(got, (std::vector<int>{0, 1}));
}

TEST(AiterSync, WorksInsideATaskWithoutTouchingItsLoop) {
    coven::event_loop loop(virtual_options());
    auto main = []() -> task<int> {
        int sum = 0;
        for (int v : coven::aiter_sync(numbers(4))) {
            sum += v;
        }
        co_return sum;
    };
    EXPECT_EQ(loop.run_until_complete(main()), 6);
}
