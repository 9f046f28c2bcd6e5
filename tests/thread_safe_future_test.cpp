// thread_safe_future (S15-S17): tasks made from any thread, waited for by blocking threads and
// by tasks of other loops; cross-thread cancellation; frames stay on their own loop.
#include <coven/executor.hpp>
#include <coven/thread_safe_future.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

/// A loop driven by its own background thread, stopped at the end of the scope.
struct background_loop {
    coven::event_loop loop;
    explicit background_loop(coven::loop_options options = virtual_options()) : loop(options) {
        loop.start();
    }
    ~background_loop() { loop.stop(); }
};

/// A virtual clock that stays put: a sleep lasts until it is cancelled (with autojump, the
/// background loop would run it to its end before another thread could cancel it).
auto frozen_clock() -> coven::loop_options {
    return {.clock = coven::clock_kind::virtual_time, .autojump = false};
}

auto fail_after(double seconds) -> task<int> {
    co_await coven::sleep(seconds);
    throw std::runtime_error("failed");
}

} // namespace

TEST(ThreadSafeFuture, ATaskMadeFromAnotherThreadIsWaitedForWithSyncWrap) {
    background_loop bg;
    auto a = bg.loop.create_task_thread_safe(sleep_then(1.0, 7));
    auto b = bg.loop.create_task_thread_safe(fail_after(0.5));
    EXPECT_EQ(a.sync_wrap().wait(), 7);
    EXPECT_EQ(a.sync_wrap().wait(), 7); // as often as wanted
    EXPECT_TRUE(a.done());
    EXPECT_THROW(b.sync_wrap().wait(), std::runtime_error);
}

TEST(ThreadSafeFuture, WaitWithATimeoutGivesUpAndTheTaskRunsOn) {
    coven::thread_pool pool({.threads = 1});
    background_loop bg;
    gate g;
    auto f = bg.loop.create_task_thread_safe(coven::run_in_executor(pool, [&g] {
        g.pass();
        return 3;
    }));
    EXPECT_THROW(f.sync_wrap().wait(std::chrono::milliseconds(10)), coven::timeout_error);
    EXPECT_FALSE(f.done());
    g.open();
    EXPECT_EQ(f.sync_wrap().wait(5.0), 3);
}

TEST(ThreadSafeFuture, BlockingOnALoopsThreadIsAUsageError) {
    background_loop bg;
    auto f = bg.loop.create_task_thread_safe(sleep_then(0.1, 1));
    coven::event_loop other(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_THROW(f.sync_wrap().wait(), coven::usage_error);
        EXPECT_EQ(co_await f.async_wrap(), 1);
    };
    other.run_until_complete(main());
}

TEST(ThreadSafeFuture, CancelFromAnotherThreadReachesASleepingTask) {
    background_loop bg(frozen_clock());
    auto f = bg.loop.create_task_thread_safe(sleep_then(1000.0, 1));
    EXPECT_TRUE(f.cancel());
    EXPECT_THROW(f.sync_wrap().wait(), coven::cancelled_error);
    EXPECT_FALSE(f.cancel()); // it has ended
}

TEST(ThreadSafeFuture, CancelReachesARunningTaskAtItsNextSuspension) {
    background_loop bg;
    std::atomic<bool> running{false};
    std::atomic<bool> go_on{false};
    std::atomic<bool> reached_next_await{false};
    auto body = [&]() -> task<int> {
        running = true;
        while (!go_on.load()) { // running: the loop's thread is inside this task
            std::this_thread::yield();
        }
        reached_next_await = true;
        co_await coven::sleep(1.0);
        co_return 1;
    };
    auto f = bg.loop.create_task_thread_safe(body());
    while (!running.load()) {
        std::this_thread::yield();
    }
    EXPECT_TRUE(f.cancel()); // queued for the loop, which is busy in the task
    go_on = true;
    EXPECT_THROW(f.sync_wrap().wait(), coven::cancelled_error);
    EXPECT_TRUE(reached_next_await.load());
}

TEST(ThreadSafeFuture, ACancelBeforeTheTaskIsMadeStillCancelsIt) {
    coven::event_loop loop(virtual_options()); // nobody drives it yet
    auto f = loop.create_task_thread_safe(sleep_then(1.0, 1));
    EXPECT_TRUE(f.cancel());
    loop.run_until_complete(sleep_for(2.0)); // drives the posted creation, then the cancel
    EXPECT_THROW(f.sync_wrap().wait(), coven::cancelled_error);
}

TEST(ThreadSafeFuture, AStoppedLoopGivesWaitersCancelledErrorInsteadOfAHang) {
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    auto f = loop->create_task_thread_safe(sleep_then(1.0, 1)); // posted, never driven
    loop.reset();
    EXPECT_THROW(f.sync_wrap().wait(), coven::cancelled_error);
}

TEST(ThreadSafeFuture, ATaskOfOneLoopIsAwaitedFromAnother) {
    background_loop a;
    background_loop b;
    auto f = a.loop.create_task_thread_safe(sleep_then(0.5, 11));
    auto on_b = [&]() -> task<int> {
        const auto me = std::this_thread::get_id();
        int v = co_await f.async_wrap(b.loop);
        EXPECT_EQ(std::this_thread::get_id(), me); // resumed on b's thread
        co_return v;
    };
    EXPECT_EQ(b.loop.run(on_b()), 11);
}

TEST(ThreadSafeFuture, AsyncWrapWithAnotherLoopThanTheAwaitersIsAUsageError) {
    background_loop a;
    auto f = a.loop.create_task_thread_safe(sleep_then(0.1, 1));
    coven::event_loop mine(virtual_options());
    auto main = [&]() -> task<void> {
        bool refused = false;
        try {
            (void)co_await f.async_wrap(a.loop);
        } catch (const coven::usage_error&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    };
    mine.run_until_complete(main());
}

TEST(ThreadSafeFuture, ACancelledAsyncWaiterLeavesAndTheTaskRunsOn) {
    coven::thread_pool pool({.threads = 1});
    background_loop a;
    gate g;
    auto f = a.loop.create_task_thread_safe(coven::run_in_executor(pool, [&g] {
        g.pass();
        return 5;
    }));
    coven::event_loop mine(virtual_options());
    auto main = [&]() -> task<void> {
        auto waiter = [&f]() -> task<int> { co_return co_await f.async_wrap(); };
        auto w = coven::current_loop()->create_task(waiter());
        co_await coven::sleep(1.0);
        w.cancel();
        co_await w.wait();
        EXPECT_TRUE(w.cancelled());
    };
    mine.run_until_complete(main());
    EXPECT_FALSE(f.done());
    g.open();
    EXPECT_EQ(f.sync_wrap().wait(), 5); // not cancelled by the waiter
}

TEST(ThreadSafeFuture, ThreadSafeOfAFutureIsMadeOnItsLoop) {
    background_loop bg;
    auto make = [&]() -> task<coven::thread_safe_future<int>> {
        auto f = coven::current_loop()->create_task(sleep_then(0.5, 9));
        co_return coven::thread_safe(f);
    };
    auto ts = bg.loop.run(make());
    EXPECT_EQ(ts.sync_wrap().wait(), 9);
    // A future kept on bg's loop (made and dropped there); this thread only looks at it.
    auto make_kept = []() -> task<std::shared_ptr<coven::future<int>>> {
        co_return std::make_shared<coven::future<int>>(
            coven::current_loop()->create_task(sleep_then(0.5, 2)));
    };
    auto kept = bg.loop.run(make_kept());
    EXPECT_THROW((void)coven::thread_safe(*kept), coven::usage_error); // bg's thread drives it
    auto drop = [](std::shared_ptr<coven::future<int>>& k) -> task<void> {
        k.reset();
        co_return;
    };
    bg.loop.run(drop(kept));
}

TEST(ThreadSafeFuture, FramesAreDestroyedOnTheirOwnLoop) {
    background_loop bg;
    struct where {
        std::thread::id* out;
        ~where() { *out = std::this_thread::get_id(); }
    };
    std::thread::id destroyed_on;
    std::thread::id ran_on;
    auto body = [](std::thread::id* d, std::thread::id* r) -> task<int> {
        where w{d};
        *r = std::this_thread::get_id();
        co_await coven::sleep(0.1);
        co_return 1;
    };
    {
        auto f = bg.loop.create_task_thread_safe(body(&destroyed_on, &ran_on));
        EXPECT_EQ(f.sync_wrap().wait(), 1);
    }                            // the last handle goes on this thread
    bg.loop.run(sleep_for(0.0)); // a round trip: the frame is gone by now
    EXPECT_EQ(destroyed_on, ran_on);
    EXPECT_NE(destroyed_on, std::this_thread::get_id());
}

TEST(ThreadSafeFuture, StormOfTasksFromManyThreadsEndsEachExactlyOnce) {
    background_loop bg;
    constexpr int threads = 4;
    constexpr int per_thread = 250;
    std::atomic<int> ran{0};
    std::atomic<int> waited{0};
    auto body = [](std::atomic<int>* r, int v) -> task<int> {
        ++*r;
        co_await coven::skip_ready_cycle();
        co_return v;
    };
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            std::vector<coven::thread_safe_future<int>> fs;
            for (int i = 0; i < per_thread; ++i) {
                fs.push_back(bg.loop.create_task_thread_safe(body(&ran, t * per_thread + i)));
                if (i % 7 == 0) {
                    fs.back().cancel();
                }
            }
            for (int i = 0; i < per_thread; ++i) {
                try {
                    EXPECT_EQ(fs[i].sync_wrap().wait(), t * per_thread + i);
                } catch (const coven::cancelled_error&) {
                }
                ++waited;
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_EQ(waited.load(), threads * per_thread);
    EXPECT_LE(ran.load(), threads * per_thread);
}

TEST(ThreadSafeFuture, AnEmptyHandleIsAUsageError) {
    coven::thread_safe_future<int> f;
    EXPECT_FALSE(f.valid());
    EXPECT_THROW((void)f.done(), coven::usage_error);
    EXPECT_THROW((void)f.cancel(), coven::usage_error);
    EXPECT_THROW((void)f.sync_wrap(), coven::usage_error);
}

TEST(ThreadSafeFuture, ACancelledTaskNobodyWaitedForIsNotReported) {
    static int reports = 0;
    reports = 0;
    coven::set_unobserved_exception_handler(
        [](std::exception_ptr, const std::string&) { ++reports; });
    {
        background_loop bg(frozen_clock());
        auto f = bg.loop.create_task_thread_safe(sleep_then(100.0, 1));
        f.cancel();
        while (!f.done()) {
            std::this_thread::yield();
        }
    }
    coven::set_unobserved_exception_handler(nullptr);
    EXPECT_EQ(reports, 0);
}

TEST(ThreadSafeFuture, AWaiterOfATaskThatIgnoredLoopStopGetsCancelledErrorNotAHang) {
    // Two shielded tasks await each other: nothing can end them, and loop stop destroys
    // them. A thread waiting for one of them must be told, not left hanging.
    std::vector<coven::future<void>> pair(2);
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    loop->start();
    auto waits_for = [](std::vector<coven::future<void>>& p, int other) -> task<void> {
        coven::cancel_scope shielded;
        shielded.set_shield(true);
        co_await coven::skip_ready_cycle(); // both exist by now
        co_await shielded.run([&p, other]() -> task<void> { co_await p[other]; });
    };
    auto make = [&]() -> task<coven::thread_safe_future<void>> {
        pair[0] = coven::current_loop()->create_task(waits_for(pair, 1));
        pair[1] = coven::current_loop()->create_task(waits_for(pair, 0));
        auto ts = coven::thread_safe(pair[0]);
        for (int i = 0; i < 4; ++i) {
            co_await coven::skip_ready_cycle(); // both are parked on each other now
        }
        pair.clear(); // only the loop holds them: loop stop frees them at once
        co_return ts;
    };
    auto f = loop->run(make());
    std::thread stopper([&] { loop->stop(); });
    EXPECT_THROW(f.sync_wrap().wait(), coven::cancelled_error);
    stopper.join();
    loop.reset();
}
