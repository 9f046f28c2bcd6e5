// event_loop::stop() meeting the things around it: work posted from other threads, the end of a
// run, a stop from another thread racing that end.

#include <coven/event_loop.hpp>

#include "test_util.hpp"

#include <coven/event.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>

using namespace coven_test;
using coven::task;

namespace {

/// Swallows every cancellation and waits again: only a drop at stop ends it.
auto stubborn(coven::event& ev, std::atomic<int>& ignored) -> task<void> {
    for (;;) {
        try {
            co_await ev.wait();
        } catch (const coven::cancelled_error&) {
            ++ignored;
        }
    }
}

auto returns(int v) -> task<int> {
    co_return v;
}

} // namespace

// The callback posted from another thread runs inside stop(), after the cross-thread queue was
// closed; the closed marker is not work, so stop() finds the task stuck and destroys it.
TEST(LoopStop, ReturnsWhenAPostedCallbackCreatesATaskThatIgnoresCancellation) {
    watchdog dog("stop() with a stubborn task posted from another thread", 20);
    coven::event ev;
    std::atomic<int> ignored{0};
    coven::event_loop loop(virtual_options());
    std::thread([&] {
        loop.call_soon_threadsafe([&] { (void)loop.create_task_eager(stubborn(ev, ignored)); });
    }).join();
    loop.stop();
    EXPECT_GE(ignored.load(), 1);
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
    EXPECT_EQ(ev.statistics().waiting, 0u);
}

// The same on a background loop: a callback asks the loop to stop and posts another, which its
// own thread then runs inside the shutdown.
TEST(LoopStop, ABackgroundLoopStopsWhenAPostedCallbackCreatesAStubbornTask) {
    watchdog dog("stop() of a background loop with a stubborn task", 20);
    coven::event ev;
    std::atomic<int> ignored{0};
    std::atomic<bool> posted{false};
    coven::event_loop loop;
    loop.start();
    loop.call_soon_threadsafe([&] {
        loop.stop(); // the loop's own thread: a request, acted on after this iteration
        loop.call_soon_threadsafe([&] { (void)loop.create_task_eager(stubborn(ev, ignored)); });
        posted = true;
    });
    while (!posted) {
        std::this_thread::yield();
    }
    loop.stop(); // joins the thread
    EXPECT_GE(ignored.load(), 1);
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
}

// stop() inside the run's task: the run returns its value, the stop cancels what is left, and
// the request does not reach the next run.
TEST(LoopStop, AStopInsideARunEndsWithThatRunAndNotTheNext) {
    coven::event_loop loop(virtual_options());
    auto first = [&]() -> task<int> {
        loop.create_task(sleep_for(1000.0)); // left running: the stop cancels it
        loop.stop();
        co_return 1;
    };
    EXPECT_EQ(loop.run_until_complete(first()), 1);
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
    EXPECT_EQ(loop.run_until_complete(sleep_then(1.0, 2)), 2);
}

// A stop() from another thread that lands while the run's task ends is acted on by that run (or
// by stop() itself), never by the next one; and once both have returned nothing is left alive.
// The stopper waits for the task's last moment, then for a seeded number of spins, so that the
// stops sweep across the end of the run.
TEST(LoopStop, AStopFromAnotherThreadRacingTheEndOfARunNeverCancelsTheNext) {
    coven::event_loop loop(virtual_options());
    std::atomic<int> phase{0}; // 1: the task is about to end; 2: the stopper is done
    auto ending = [&]() -> task<int> {
        loop.create_task(sleep_for(1000.0)); // what the stop must cancel
        co_await coven::skip_ready_cycle();
        phase = 1;
        co_return 5;
    };
    int stopped_runs = 0;
    for (unsigned seed = 1; seed <= 3000; ++seed) {
        std::mt19937 rng(seed);
        const unsigned spins = rng() % 8;
        phase = 0;
        std::thread stopper([&] {
            while (phase.load() == 0) {
            }
            std::atomic<unsigned> spun{0};
            while (spun.load(std::memory_order_relaxed) < spins) {
                spun.store(spun.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            }
            loop.stop();
            phase = 2;
        });
        try {
            EXPECT_EQ(loop.run_until_complete(ending()), 5);
        } catch (const coven::cancelled_error&) {
            ++stopped_runs; // (cannot happen: the stopper starts at the task's end)
        }
        stopper.join();
        EXPECT_EQ(loop.statistics().live_tasks, 0u) << "seed " << seed;
        ASSERT_EQ(loop.run_until_complete(returns(7)), 7) << "seed " << seed;
    }
    EXPECT_EQ(stopped_runs, 0);
}

TEST(LoopStop, PostingToAStoppedLoopNamesTheCallMadeAndTheLoopsState) {
    coven::event_loop loop(virtual_options());
    loop.start();
    loop.stop(); // closed to other threads until it runs again
    auto message_of = [](auto&& call) -> std::string {
        try {
            call();
        } catch (const coven::usage_error& e) {
            return e.what();
        }
        return "no error";
    };
    const std::string created =
        message_of([&] { (void)loop.create_task_thread_safe(sleep_then(1.0, 1)); });
    EXPECT_NE(created.find("create_task_thread_safe() on a loop that has stopped"),
              std::string::npos)
        << created;
    EXPECT_NE(created.find("start() it, or drive it with run_until_complete()"), std::string::npos);
    const std::string posted = message_of([&] { loop.call_soon_threadsafe([] {}); });
    EXPECT_NE(posted.find("call_soon_threadsafe() on a loop that has stopped"), std::string::npos)
        << posted;
    // Running it again opens it.
    EXPECT_EQ(loop.run_until_complete(sleep_then(1.0, 3)), 3);
}

TEST(LoopStop, ATaskCreatedOnAStoppedLoopRunsAtItsNextRun) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(sleep_then(1.0, 1));
    loop.stop();
    auto f = loop.create_task(sleep_then(1.0, 2)); // queued: nobody runs the loop now
    EXPECT_FALSE(f.done());
    EXPECT_EQ(loop.run_until_complete(
                  [](coven::future<int> g) -> coven::task<int> { co_return co_await g; }(f)),
              2);
}

namespace {
// Catches every cancellation and waits again: stop() can only end it by dropping it.
auto stubborn_sleeper(double step) -> task<void> {
    for (;;) {
        try {
            co_await coven::sleep(step);
        } catch (const coven::cancelled_error&) {
        }
    }
}
} // namespace

TEST(LoopStop, AGracePeriodEndsAStopThatAStubbornTaskWouldHoldForeverAndNamesIt) {
    auto options = virtual_options();
    options.stop_report_after = 1.0;
    options.stop_grace = std::chrono::seconds(10);
    coven::event_loop loop(options);
    auto f = loop.create_task(stubborn_sleeper(0.5), "stubborn");
    loop.run_until_complete(sleep_for(0.1));
    ::testing::internal::CaptureStderr();
    loop.stop();
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(f.done());
    EXPECT_TRUE(f.cancelled());
    // Named once after a second of waiting, and again as it is dropped at the end of the grace.
    EXPECT_NE(said.find("stop() is waiting for 1 task(s) still running"), std::string::npos)
        << said;
    EXPECT_NE(said.find("stop() is dropping 1 task(s) still running"), std::string::npos) << said;
    EXPECT_NE(said.find("stubborn: "), std::string::npos) << said;
    EXPECT_NEAR(loop.time(), 10.1, 0.6); // the grace, on the loop's (virtual) clock
}

TEST(LoopStop, AGracePeriodOnTheRealClockBoundsTheStop) {
    coven::loop_options options;
    options.stop_grace = std::chrono::milliseconds(200);
    options.stop_report_after = std::chrono::milliseconds(50);
    coven::event_loop loop(options);
    auto f = loop.create_task(stubborn_sleeper(0.01), "stubborn");
    loop.run_until_complete(sleep_for(0.01));
    ::testing::internal::CaptureStderr();
    const auto before = std::chrono::steady_clock::now();
    loop.stop();
    const auto took = std::chrono::steady_clock::now() - before;
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(f.cancelled());
    EXPECT_GE(took, std::chrono::milliseconds(200));
    EXPECT_LT(took, std::chrono::seconds(30)); // bounded (generous for a loaded machine)
    EXPECT_NE(said.find("stubborn: "), std::string::npos) << said;
}

TEST(LoopStop, AStopWhoseTasksEndOrAreStuckSaysNothingAndWaitsForNoReport) {
    auto options = virtual_options();
    options.stop_report_after = 1.0;
    options.stop_grace = 5.0;
    coven::event_loop loop(options);
    coven::event never;
    auto ends = loop.create_task(sleep_for(100.0), "ends");
    auto stuck = loop.create_task(
        [](coven::event& e) -> task<void> {
            try {
                co_await e.wait();
            } catch (const coven::cancelled_error&) {
            }
            co_await e.wait(); // nobody sets it: stuck, found at once
        }(never),
        "stuck");
    loop.run_until_complete(sleep_for(0.1));
    ::testing::internal::CaptureStderr();
    loop.stop();
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(ends.cancelled());
    EXPECT_TRUE(stuck.cancelled());
    EXPECT_EQ(said, "");
    EXPECT_DOUBLE_EQ(loop.time(), 0.1); // the report's and the grace's timers kept nobody waiting
}
