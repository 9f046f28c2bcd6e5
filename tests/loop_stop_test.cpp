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
