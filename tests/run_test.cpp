#include <coven/run.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <thread>

using namespace coven_test;
using coven::task;

namespace {
auto twice(int x) -> task<int> {
    co_await coven::sleep(0.001);
    co_return 2 * x;
}
} // namespace

TEST(Run, RunsOnTheDefaultLoopAndStopsTheLoopItCreated) {
    EXPECT_EQ(coven::run(twice(21)), 42);
    EXPECT_FALSE(coven::detail::default_loop_running());
}

TEST(Run, DefaultLoopRunsOnItsOwnBackgroundThread) {
    auto& loop = coven::get_or_create_event_loop();
    auto caller = std::this_thread::get_id();
    auto where = [&]() -> task<bool> { co_return std::this_thread::get_id() != caller; };
    EXPECT_TRUE(loop.run(where()));
    EXPECT_EQ(&coven::get_or_create_event_loop(), &loop);
    EXPECT_EQ(coven::run(twice(1)), 2); // the loop was running: coven::run leaves it running
    EXPECT_TRUE(loop.is_running());
    loop.stop();
    EXPECT_FALSE(loop.is_running());
}

TEST(Run, RethrowsTheTasksException) {
    auto bad = []() -> task<void> {
        co_await coven::skip_ready_cycle();
        throw std::logic_error("bad");
    };
    EXPECT_THROW(coven::run(bad()), std::logic_error);
    EXPECT_FALSE(coven::detail::default_loop_running());
}

TEST(Run, DefaultLoopStartsAndStopsManyTimes) {
    for (int i = 0; i < 1000; ++i) { // TESTING.md #4: started and stopped 1,000 times
        auto& loop = coven::get_or_create_event_loop();
        ASSERT_EQ(loop.run(twice(i)), 2 * i);
        loop.stop();
    }
}

TEST(Run, FromInsideALoopIsAUsageError) {
    auto& loop = coven::get_or_create_event_loop();
    auto inner = []() -> task<bool> {
        try {
            coven::run(twice(1));
        } catch (const coven::usage_error&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(loop.run(inner()));
    loop.stop();
}

TEST(Run, VirtualClockFromDefaultLoopOptions) {
    coven::set_default_loop_options({.clock = coven::clock_kind::virtual_time});
    auto& loop = coven::get_or_create_event_loop();
    auto body = [&]() -> task<double> {
        co_await coven::sleep(3600.0); // an hour, instantly
        co_return loop.time();
    };
    EXPECT_DOUBLE_EQ(loop.run(body()), 3600.0);
    loop.stop();
    coven::set_default_loop_options({});
}

// Changing any option, not only the clock, makes the next start use a new default loop.
TEST(Run, EveryDefaultLoopOptionReachesTheRestartedLoop) {
    auto& first = coven::get_or_create_event_loop();
    first.stop();
    coven::set_default_loop_options({.scheduling = coven::scheduling_policy::priority});
    auto& loop = coven::get_or_create_event_loop();
    EXPECT_EQ(loop.options().scheduling, coven::scheduling_policy::priority);
    loop.stop();
    coven::set_default_loop_options({.boost_starved = false});
    EXPECT_FALSE(coven::get_or_create_event_loop().options().boost_starved);
    coven::get_or_create_event_loop().stop();
    coven::set_default_loop_options({});
}

// A task still waiting when the process exits is cancelled as the default loop stops, while
// statics are destroyed. That cancellation must touch nothing destroyed before the loop: here,
// what the process's first cancellation set up, after the loop was made. Under ASan a use after
// free aborts the child, which then does not exit with 0.
TEST(RunDeathTest, ATaskStillWaitingAtExitIsCancelledSafely) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    auto child = [] {
        auto& loop = coven::get_or_create_event_loop(); // made first, so destroyed last
        loop.run([]() -> task<void> {                   // the first cancellation of the process
            auto f = coven::current_loop()->create_task(sleep_for(10.0));
            co_await coven::sleep(0);
            f.cancel();
            co_await f.wait();
        }());
        loop.run([]() -> task<void> { // a task that is still asleep at exit
            (void)coven::current_loop()->create_task(sleep_for(100.0));
            co_return;
        }());
        std::exit(0);
    };
    EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "");
}

// Two threads in coven::run() at once share the default loop: the one that started it does not
// stop it under the other when its own task ends first; the last one out stops it.
TEST(Run, TwoThreadsRunAtOnceAndEachGetsItsOwnOutcome) {
    std::atomic<bool> second_inside{false};
    std::atomic<bool> first_returned{false};
    auto first = [&]() -> task<int> {
        while (!second_inside.load()) { // until the other run() is inside the loop too
            co_await coven::sleep(0.0005);
        }
        co_return 1;
    };
    auto second = [&]() -> task<int> {
        second_inside = true;
        while (!first_returned.load()) { // outlives the run() that started the loop
            co_await coven::sleep(0.0005);
        }
        co_await coven::sleep(0.002);
        co_return 2;
    };
    int a = 0;
    int b = 0;
    std::thread t1([&] {
        a = coven::run(first());
        first_returned = true;
    });
    while (!coven::detail::default_loop_running()) {
        std::this_thread::yield();
    }
    std::thread t2([&] {
        try {
            b = coven::run(second());
        } catch (const coven::cancelled_error&) {
            b = -1; // the loop was stopped under it
        }
    });
    t1.join();
    t2.join();
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
    EXPECT_FALSE(coven::detail::default_loop_running()); // the last one out stopped it
}

// A thread that takes the running default loop with get_or_create_event_loop() holds it too: the
// coven::run() that started the loop leaves it running for that thread, which stops it itself.
TEST(Run, ALoopAnotherThreadTookIsNotStoppedUnderItByTheRunThatStartedIt) {
    std::atomic<bool> taken{false};
    std::atomic<bool> run_returned{false};
    auto quick = [&]() -> task<int> {
        while (!taken.load()) {
            co_await coven::sleep(0.0005);
        }
        co_return 1;
    };
    auto slow = [&]() -> task<int> {
        while (!run_returned.load()) {
            co_await coven::sleep(0.0005);
        }
        co_return 2;
    };
    int a = 0;
    int b = 0;
    std::thread t1([&] {
        a = coven::run(quick());
        run_returned = true;
    });
    while (!coven::detail::default_loop_running()) {
        std::this_thread::yield();
    }
    std::thread t2([&] {
        auto& loop = coven::get_or_create_event_loop();
        taken = true;
        try {
            b = loop.run(slow());
        } catch (const coven::cancelled_error&) {
            b = -1; // stopped under it
        }
        loop.stop();
    });
    t1.join();
    t2.join();
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
}
