#include <coven/sleep.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

TEST(Sleep, ResumesAtTheDeadlineOnTheVirtualClock) {
    coven::event_loop loop(virtual_options());
    auto body = [&]() -> task<std::vector<double>> {
        std::vector<double> at;
        co_await coven::sleep(1.5);
        at.push_back(loop.time());
        co_await coven::sleep(250ms);
        at.push_back(loop.time());
        co_await coven::sleep_until(loop.now() + 2s);
        at.push_back(loop.time());
        co_await coven::sleep(0.0);
        at.push_back(loop.time());
        co_await coven::sleep(-1.0);
        at.push_back(loop.time());
        co_return at;
    };
    EXPECT_EQ(loop.run_until_complete(body()), (std::vector<double>{1.5, 1.75, 3.75, 3.75, 3.75}));
}

TEST(Sleep, ConcurrentSleepersInterleave) {
    coven::event_loop loop(virtual_options());
    std::vector<int> order;
    auto say = [&](int v, double after) -> task<void> {
        co_await coven::sleep(after);
        order.push_back(v);
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(say(2, 2.0));
        auto b = loop.create_task(say(1, 1.0));
        auto c = loop.create_task(say(3, 3.0));
        co_await a;
        co_await b;
        co_await c;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_DOUBLE_EQ(loop.time(), 3.0);
}

TEST(Sleep, HundredThousandTimersFireInDeadlineThenArmOrderNeverEarly) {
    coven::event_loop loop(virtual_options());
    struct fired {
        std::int64_t deadline_us;
        int armed;
        std::int64_t at_us;
    };
    std::vector<fired> log;
    log.reserve(100'000);
    auto sleeper = [&](int armed, std::int64_t us) -> task<void> {
        co_await coven::sleep(std::chrono::microseconds(us));
        auto at =
            std::chrono::duration_cast<std::chrono::microseconds>(loop.now().time_since_epoch())
                .count();
        log.push_back({us, armed, at});
    };
    auto main = [&]() -> task<void> {
        std::uint64_t x = 42;
        std::vector<future<void>> fs;
        for (int i = 0; i < 100'000; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            // Many equal deadlines, spread over several wheel levels (up to ~70 minutes).
            std::int64_t us = static_cast<std::int64_t>((x >> 33) % 5000) * 997'331;
            fs.push_back(loop.create_task(sleeper(i, us)));
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    ASSERT_EQ(log.size(), 100'000u);
    for (std::size_t i = 0; i < log.size(); ++i) {
        ASSERT_EQ(log[i].at_us, log[i].deadline_us) << "fired early or late";
        if (i > 0) {
            auto& p = log[i - 1];
            ASSERT_TRUE(p.deadline_us < log[i].deadline_us ||
                        (p.deadline_us == log[i].deadline_us && p.armed < log[i].armed))
                << "out of order at " << i;
        }
    }
}

TEST(Sleep, SubMillisecondRealTimerDoesNotBusySpin) {
    coven::event_loop loop;
    auto body = [&]() -> task<void> {
        for (int i = 0; i < 20; ++i) {
            co_await coven::sleep(std::chrono::microseconds(300));
        }
    };
    auto start = loop.now();
    loop.run_until_complete(body());
    EXPECT_GE(loop.now() - start, 20 * 300us);
    // A spinning loop would poll thousands of times; waiting costs about one poll per sleep.
    EXPECT_LE(loop.statistics().polls, 100u);
}

TEST(Sleep, AsFutureCanBeCancelledAndAwaitedByMany) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        future<void> f = coven::sleep(2.0);
        future<void> g = coven::sleep(5.0).as_future();
        auto w1 = loop.create_task([](future<void> f) -> task<void> { co_await f; }(f));
        auto w2 = loop.create_task([](future<void> f) -> task<void> { co_await f; }(f));
        co_await w1;
        co_await w2;
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
        g.cancel();
        EXPECT_THROW(co_await g, coven::cancelled_error);
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(Sleep, OutsideATaskIsAUsageError) {
    coven::event_loop loop(virtual_options());
    EXPECT_THROW((void)coven::sleep(1.0).as_future(), coven::usage_error);
    auto fake = coven::sleep(1.0);
    EXPECT_THROW(fake.await_suspend(std::noop_coroutine()), coven::usage_error);
}
