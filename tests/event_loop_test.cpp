#include <coven/event_loop.hpp>

#include "test_util.hpp"

#include <coven/event.hpp>
#include <coven/interrupt.hpp>
#include <coven/scheduling.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

auto value_after(double s, int v) -> task<int> {
    co_await coven::sleep(s);
    co_return v;
}

auto thrower() -> task<int> {
    co_await coven::skip_ready_cycle();
    throw std::runtime_error("from the loop");
}

} // namespace

TEST(EventLoop, RunFromAnotherThreadBlocksAndReturnsTheValue) {
    coven::event_loop loop;
    loop.start();
    EXPECT_EQ(loop.run(value_after(0.001, 5)), 5);
    EXPECT_TRUE(loop.is_running());
    EXPECT_EQ(loop.run(value_after(0, 6)), 6); // the loop stays alive between runs
    loop.stop();
    EXPECT_FALSE(loop.is_running());
}

TEST(EventLoop, RunRethrowsTheTasksException) {
    coven::event_loop loop;
    loop.start();
    EXPECT_THROW(loop.run(thrower()), std::runtime_error);
    loop.stop();
}

TEST(EventLoop, RunFromTheLoopsOwnThreadIsAUsageErrorNotADeadlock) {
    coven::event_loop loop;
    loop.start();
    auto body = [&]() -> task<std::string> {
        try {
            loop.run(value_after(0, 1));
        } catch (const coven::usage_error& e) {
            co_return e.what();
        }
        co_return "no error";
    };
    auto what = loop.run(body());
    EXPECT_NE(what.find("loop's own thread"), std::string::npos) << what;
    loop.stop();
}

TEST(EventLoop, RunUntilCompleteDrivesOnTheCallingThread) {
    coven::event_loop loop(virtual_options());
    auto id = std::this_thread::get_id();
    auto body = [&]() -> task<bool> {
        co_await coven::sleep(1.0);
        co_return std::this_thread::get_id() == id&& loop.in_loop_thread();
    };
    EXPECT_TRUE(loop.run_until_complete(body()));
    EXPECT_FALSE(loop.in_loop_thread());
    EXPECT_TRUE(loop.run(body())); // without a background thread, run() drives here too
}

TEST(EventLoop, RunUntilCompleteOnALoopWithItsOwnThreadIsAUsageError) {
    coven::event_loop loop;
    loop.start();
    EXPECT_THROW(loop.run_until_complete(value_after(0, 1)), coven::usage_error);
    loop.stop();
}

TEST(EventLoop, OtherTasksStayScheduledAfterRunUntilComplete) {
    coven::event_loop loop(virtual_options());
    int ticks = 0;
    auto ticker = [&]() -> task<void> {
        for (;;) {
            co_await coven::sleep(1.0);
            ++ticks;
        }
    };
    auto start = [&]() -> task<void> {
        loop.create_task(ticker());
        co_return;
    };
    loop.run_until_complete(start());
    loop.run_until_complete(value_after(3.5, 0));
    EXPECT_EQ(ticks, 3);
    loop.stop(); // cancels the ticker
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
}

TEST(EventLoop, StopCancelsWhatIsLeftAndLetsItUnwindWithAwaits) {
    std::vector<std::string> log;
    {
        coven::event_loop loop(virtual_options());
        auto worker = [&](int i) -> task<void> {
            bool cancelled = false;
            try {
                co_await coven::sleep(1000.0);
            } catch (const coven::cancelled_error&) {
                cancelled = true; // (C++ has no co_await inside a handler)
            }
            if (cancelled) {
                log.push_back("cancelled " + std::to_string(i));
                co_await coven::sleep(1.0); // cleanup that awaits
                log.push_back("cleaned " + std::to_string(i));
                throw coven::cancelled_error();
            }
        };
        auto start = [&]() -> task<void> {
            loop.create_task(worker(1));
            loop.create_task(worker(2));
            co_return;
        };
        loop.run_until_complete(start());
        loop.stop();
        EXPECT_EQ(loop.statistics().live_tasks, 0u);
    }
    EXPECT_EQ(log,
              (std::vector<std::string>{"cancelled 1", "cancelled 2", "cleaned 1", "cleaned 2"}));
}

TEST(EventLoop, StopDestroysAStuckTaskThatAFutureRefersToAndTheFutureReportsItCancelled) {
    coven::event ev;
    std::vector<std::string> log;
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    struct note_on_destroy {
        std::vector<std::string>& log;
        ~note_on_destroy() { log.push_back("destroyed"); }
    };
    auto stubborn = [](coven::event& ev, std::vector<std::string>& log) -> task<int> {
        note_on_destroy note{log};
        for (;;) {
            try {
                co_await ev.wait();
                log.push_back("woke");
                co_return 1;
            } catch (const coven::cancelled_error&) {
                log.push_back("ignored");
            }
        }
    };
    // Whoever waits for it hears it end: a task awaiting it, a done-callback.
    auto awaits = [](coven::future<int> f, std::vector<std::string>& log) -> task<void> {
        try {
            co_await f;
        } catch (const coven::cancelled_error&) {
            log.push_back(f.cancelled() ? "heard it was cancelled" : "cancelled alone");
        }
    };
    auto f = loop->create_task(stubborn(ev, log));
    auto waiter = loop->create_task(awaits(f, log));
    f.add_done_callback([&log](coven::future<int>& done) {
        log.push_back(done.cancelled() ? "callback: cancelled" : "callback: other");
    });
    loop->run_until_complete(sleep_for(1.0));
    loop->stop(); // it ignores cancellation: its frame goes, though f refers to it
    // At stop, on the loop's thread, while the loop lives; then the waiters hear it.
    ASSERT_GE(log.size(), 3u);
    EXPECT_EQ(
        std::vector<std::string>(log.end() - 3, log.end()),
        (std::vector<std::string>{"destroyed", "callback: cancelled", "heard it was cancelled"}));
    EXPECT_TRUE(waiter.done());
    EXPECT_FALSE(waiter.cancelled()); // woken, not destroyed
    EXPECT_GE(std::count(log.begin(), log.end(), "ignored"), 2);
    EXPECT_EQ(loop->statistics().live_tasks, 0u);
    EXPECT_EQ(ev.statistics().waiting, 0u); // its wait left the event
    EXPECT_TRUE(f.done());
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW((void)f.result(), coven::cancelled_error);
    ev.set(); // wakes nobody
    auto await_it = [](coven::future<int>& f) -> task<void> {
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_FALSE(f.cancel()); // it has ended
    };
    loop->run_until_complete(await_it(f));
    bool called = false;
    f.add_done_callback([&called](coven::future<int>&) { called = true; });
    loop->run_until_complete(sleep_for(0.0));
    EXPECT_TRUE(called);
    loop.reset(); // the future outlives its loop; the kept block goes with it
    EXPECT_TRUE(f.cancelled());
    EXPECT_EQ(std::count(log.begin(), log.end(), "woke"), 0);
}

TEST(EventLoop, StopOnABackgroundLoopCancelsAPendingRun) {
    coven::event_loop loop;
    loop.start();
    std::atomic<bool> got_cancelled{false};
    std::thread caller([&] {
        try {
            loop.run(value_after(1000.0, 1));
        } catch (const coven::cancelled_error&) {
            got_cancelled = true;
        }
    });
    while (loop.run([&]() -> task<std::uint64_t> { co_return loop.statistics().timers; }()) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    loop.stop();
    caller.join();
    EXPECT_TRUE(got_cancelled);
    EXPECT_THROW(loop.call_soon_threadsafe([] {}), coven::usage_error);
    loop.start(); // a stopped loop can be started again
    EXPECT_EQ(loop.run(value_after(0, 3)), 3);
    loop.stop();
}

TEST(EventLoop, StopFromInsideTheLoopOnlyRequestsIt) {
    coven::event_loop loop;
    loop.start();
    auto body = [&]() -> task<int> {
        loop.stop(); // returns at once; the task is then cancelled at its next suspension
        co_await coven::sleep(1000.0);
        co_return 1;
    };
    EXPECT_THROW(loop.run(body()), coven::cancelled_error);
    loop.stop(); // joins the thread
    EXPECT_FALSE(loop.is_running());
}

TEST(EventLoop, CallSoonThreadsafeRunsEverySubmissionExactlyOnce) {
    coven::event_loop loop;
    loop.start();
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    std::vector<int> seen(threads * per_thread, 0); // touched on the loop thread only
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                loop.call_soon_threadsafe([&seen, k = t * per_thread + i] { ++seen[k]; });
                if (i % 1000 == 0) {
                    std::this_thread::yield(); // let the loop go idle now and then
                }
            }
        });
    }
    for (auto& th : ts) {
        th.join();
    }
    loop.stop(); // runs what was posted before it ends
    for (int k = 0; k < threads * per_thread; ++k) {
        ASSERT_EQ(seen[k], 1) << k;
    }
}

TEST(EventLoop, CallSoonThreadsafeKeepsPerThreadOrder) {
    coven::event_loop loop;
    loop.start();
    std::vector<int> order;
    for (int i = 0; i < 1000; ++i) {
        loop.call_soon_threadsafe([&order, i] { order.push_back(i); });
    }
    loop.stop();
    ASSERT_EQ(order.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(order[i], i);
    }
}

TEST(EventLoop, CreateTaskFromAForeignThreadIsAUsageError) {
    coven::event_loop loop;
    loop.start();
    EXPECT_THROW(loop.create_task(value_after(0, 1)), coven::usage_error);
    loop.stop();
}

TEST(EventLoop, StarvationGuardPollsWhileTasksYieldForever) {
    coven::event_loop loop(
        coven::loop_options{.clock = coven::clock_kind::virtual_time, .io_poll_interval = 64});
    bool poll_waiter_ran = false;
    auto spinner = []() -> task<void> {
        for (;;) {
            co_await coven::skip_ready_cycle();
        }
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(spinner());
        auto b = loop.create_task(spinner());
        co_await coven::skip_poll_cycle(); // would never come without the guard
        poll_waiter_ran = true;
        a.cancel();
        b.cancel();
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(poll_waiter_ran);
    EXPECT_GE(loop.statistics().forced_polls, 1u);
}

TEST(EventLoop, WithoutTheGuardReadyTasksAlwaysDrainFirst) {
    coven::event_loop loop(
        coven::loop_options{.clock = coven::clock_kind::virtual_time, .io_poll_interval = 0});
    std::vector<std::string> order;
    auto main = [&]() -> task<void> {
        auto poller = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            co_await coven::skip_poll_cycle();
            o.push_back("after poll");
        }(order));
        auto yielder = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            for (int i = 0; i < 100'000; ++i) {
                co_await coven::skip_ready_cycle();
            }
            o.push_back("yielded 100000 times");
        }(order));
        co_await poller;
        co_await yielder;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<std::string>{"yielded 100000 times", "after poll"}));
    EXPECT_EQ(loop.statistics().forced_polls, 0u);
}

TEST(EventLoop, AdvanceMovesAManualVirtualClock) {
    coven::event_loop loop(
        coven::loop_options{.clock = coven::clock_kind::virtual_time, .autojump = false});
    loop.start();
    std::atomic<bool> done{false};
    std::thread t([&] {
        loop.run(value_after(2.0, 1));
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(done);
    loop.advance(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(done);
    loop.advance(std::chrono::seconds(1));
    t.join();
    EXPECT_TRUE(done);
    EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    loop.stop();
}

TEST(EventLoop, AdvanceOnARealClockIsAUsageError) {
    coven::event_loop loop;
    EXPECT_THROW(loop.advance(std::chrono::seconds(1)), coven::usage_error);
}

TEST(EventLoop, StatisticsCountSpawnsAndRuns) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        for (int i = 0; i < 10; ++i) {
            co_await loop.create_task(value_after(0, i));
        }
    };
    loop.run_until_complete(main());
    auto st = loop.statistics();
    EXPECT_EQ(st.tasks_spawned, 11u);
    EXPECT_EQ(st.live_tasks, 0u);
    EXPECT_GE(st.task_runs, 11u);
}

TEST(EventLoop, StatisticsMayBeReadFromAnotherThreadWhileTheLoopRuns) {
    // The counters are written by the loop's thread and read here at the same time: TSan checks
    // that this is no data race.
    coven::event_loop loop(virtual_options());
    loop.start();
    std::atomic<bool> done{false};
    std::uint64_t last_runs = 0;
    std::thread reader([&] {
        while (!done.load()) {
            auto s = loop.statistics();
            EXPECT_GE(s.task_runs, last_runs); // it only grows
            last_runs = s.task_runs;
        }
    });
    auto work = [](coven::event_loop& l) -> task<void> {
        for (int i = 0; i < 200; ++i) {
            l.create_task(sleep_for(0.001 * i));
            co_await coven::skip_ready_cycle();
        }
        co_await coven::sleep(1.0);
    };
    loop.run(work(loop));
    done.store(true);
    reader.join();
    const auto s = loop.statistics();
    EXPECT_EQ(s.tasks_spawned, 201u);
    EXPECT_GE(s.task_runs, 400u);
    EXPECT_EQ(s.timers, 0u);
    loop.stop();
}
