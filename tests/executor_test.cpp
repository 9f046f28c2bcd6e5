// thread_pool, run_in_executor() and enter_executor() (S14, R10): blocking calls on worker
// threads, awaited by tasks; cancellation while queued, running and finished; stop and storms.
#include <coven/executor.hpp>
#include <coven/thread_pool.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;
using coven::thread_pool;

TEST(Executor, RunInExecutorReturnsTheValueComputedOnAWorker) {
    thread_pool pool({.threads = 2});
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        const auto me = std::this_thread::get_id();
        auto where = co_await coven::run_in_executor(pool, [&pool] {
            return std::pair{std::this_thread::get_id(), pool.is_worker_thread()};
        });
        EXPECT_NE(where.first, me);
        EXPECT_TRUE(where.second);
        EXPECT_EQ(std::this_thread::get_id(), me); // back on the loop's thread
        int sum = co_await coven::run_in_executor(
            pool, [](int a, int b) { return a + b; }, 2, 3);
        EXPECT_EQ(sum, 5);
    };
    loop.run_until_complete(main());
}

TEST(Executor, TheCallsExceptionIsRaisedInTheTask) {
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::run_in_executor(pool, [] { throw std::runtime_error("disk on fire"); });
    };
    EXPECT_THROW(loop.run_until_complete(main()), std::runtime_error);
}

TEST(Executor, WorkersAreNamedAfterThePool) {
    thread_pool pool({.threads = 1, .name = "db"});
    coven::event_loop loop(virtual_options());
    auto name = loop.run_until_complete(coven::run_in_executor(pool, [] {
        char buf[16] = {};
        ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
        return std::string(buf);
    }));
    EXPECT_EQ(name, "db-0");
}

TEST(Executor, ASaturatedPoolDoesNotDelayTheLoopsTimers) {
    // The only worker blocks until a timer task opens the gate: with the loop stuck behind the
    // pool this would never end.
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    gate g;
    auto opener = [&]() -> task<void> {
        co_await coven::sleep(1.0);
        g.open();
    };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(opener());
        co_await coven::run_in_executor(pool, [&g] { g.pass(); });
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
        co_await f;
    };
    loop.run_until_complete(main());
}

TEST(Executor, ACallCancelledWhileQueuedNeverRuns) {
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    gate g;
    std::atomic<int> ran{0};
    auto main = [&]() -> task<void> {
        auto blocker =
            coven::current_loop()->create_task(coven::run_in_executor(pool, [&g] { g.pass(); }));
        auto queued =
            coven::current_loop()->create_task(coven::run_in_executor(pool, [&ran] { ++ran; }));
        co_await coven::sleep(0.1);
        queued.cancel();
        co_await queued.wait();
        EXPECT_TRUE(queued.cancelled());
        g.open();
        co_await blocker;
    };
    loop.run_until_complete(main());
    pool.shutdown(); // drains the queue: the cancelled call is skipped
    EXPECT_EQ(ran.load(), 0);
}

TEST(Executor, ACallCancelledWhileRunningReturnsAtOnceAndRunsOnInItsThread) {
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    gate g;
    std::atomic<bool> finished{false};
    auto main = [&]() -> task<void> {
        std::promise<void> started;
        auto started_f = started.get_future();
        auto call = coven::current_loop()->create_task(
            coven::run_in_executor(pool, [&g, &finished, p = &started] {
                p->set_value();
                g.pass();
                finished = true;
                return 1;
            }));
        // Wait (on another pool) until the call runs.
        co_await coven::run_in_executor(coven::default_thread_pool(),
                                        [&started_f] { started_f.wait(); });
        call.cancel();
        co_await call.wait();
        EXPECT_TRUE(call.cancelled()); // woken by the cancel, not by the call
        EXPECT_FALSE(finished.load());
    };
    loop.run_until_complete(main());
    g.open();
    pool.shutdown();
    EXPECT_TRUE(finished.load()); // it ran to its end; its result was dropped
}

TEST(Executor, ACallThatFinishedBeforeTheCancelHandsOverItsValue) {
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    std::atomic<bool> done{false};
    std::vector<std::string> log;
    auto waiter = [&]() -> task<void> {
        int v = co_await coven::run_in_executor(pool, [&done] {
            done = true;
            return 42;
        });
        log.push_back("got " + std::to_string(v));
        try {
            co_await coven::sleep(1.0);
        } catch (const coven::cancelled_error&) {
            log.emplace_back("cancel still pending");
        }
    };
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(waiter());
        co_await coven::skip_ready_cycle(); // w is parked on its call now
        // Block the loop until the only worker has finished the call and posted its completion:
        // a job posted behind it runs only after that.
        std::promise<void> behind;
        pool.post([&behind] { behind.set_value(); });
        behind.get_future().wait();
        EXPECT_TRUE(done.load());
        w.cancel(); // the completion has not run yet: the value must still be handed over
        co_await w.wait();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"got 42", "cancel still pending"}));
}

namespace {
void fill_with_ones(std::vector<int>& v, int n) {
    v.assign(static_cast<std::size_t>(n), 1);
}
} // namespace

TEST(Executor, AnArgumentSharedWithStdRefIsTheCallersOwn) {
    // Taken by non-const reference, an argument must be passed as std::ref (a plain `v` does not
    // compile: tests/compile_fail/executor_argument_by_non_const_reference.cpp).
    coven::event_loop loop(virtual_options());
    std::vector<int> v;
    loop.run_until_complete([](std::vector<int>& out) -> task<void> {
        co_await coven::run_in_executor(fill_with_ones, std::ref(out), 3);
    }(v));
    EXPECT_EQ(v, (std::vector<int>{1, 1, 1}));
}

TEST(Executor, EnterExecutorRunsTheBlockOnAWorkerAndComesBack) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        const auto before = std::this_thread::get_id();
        std::thread::id inside;
        int computed = 0;
        co_await coven::enter_executor([&] {
            inside = std::this_thread::get_id();
            computed = 6 * 7;
        });
        EXPECT_NE(inside, before);
        EXPECT_EQ(std::this_thread::get_id(), before);
        EXPECT_EQ(computed, 42);
        EXPECT_EQ(co_await coven::enter_executor([] { return 1; }), 1);
    };
    loop.run_until_complete(main());
}

TEST(Executor, AScopeTimeoutCancelsTheFutureOfABlockingCallNotItsThread) {
    // R10: traio's executor example. The scope ends at its timeout; the call runs on.
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    gate g;
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    auto main = [&]() -> task<void> {
        bool timed_out = false;
        try {
            co_await coven::with_scope(
                {.timeout = std::chrono::milliseconds(200)},
                [&](coven::task_scope& scope) -> task<> {
                    scope.spawn(coven::run_in_executor(pool,
                                                       [&] {
                                                           started = true;
                                                           g.pass();
                                                           finished = true;
                                                       }),
                                {.eager = true}); // queued on the pool before we go on
                    while (!started.load()) {     // hold the loop (and its virtual clock) until the
                        std::this_thread::yield(); // call runs: then it cannot be dropped
                    }
                    co_return;
                });
        } catch (const coven::timeout_error&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        EXPECT_DOUBLE_EQ(loop.time(), 0.2);
    };
    loop.run_until_complete(main());
    EXPECT_FALSE(finished.load());
    g.open();
    pool.shutdown();
    EXPECT_TRUE(finished.load());
}

TEST(Executor, LoopStopWithQueuedPoolWorkReturnsPromptlyAndTheQueuedCallsNeverRun) {
    thread_pool pool({.threads = 1});
    gate g;
    std::atomic<int> ran{0};
    {
        coven::event_loop loop(virtual_options());
        loop.start();
        loop.call_soon_threadsafe([&] {
            loop.create_task(coven::run_in_executor(pool, [&g] { g.pass(); }));
            for (int i = 0; i < 100; ++i) {
                loop.create_task(coven::run_in_executor(pool, [&ran] { ++ran; }));
            }
        });
        while (pool.queued() < 100) {
            std::this_thread::yield();
        }
        loop.stop(); // returns while the worker is still blocked
    }
    g.open();
    pool.shutdown();
    EXPECT_EQ(ran.load(), 0);
}

TEST(Executor, StormOfCallsAndCancelsResumesEveryTaskExactlyOnce) {
    thread_pool pool({.threads = 4});
    coven::event_loop loop(virtual_options());
    constexpr int n = 2000;
    std::atomic<int> ran{0};
    int resumed_with_value = 0;
    int resumed_cancelled = 0;
    auto one = [&](int i) -> task<void> {
        try {
            int v = co_await coven::run_in_executor(pool, [&ran, i] {
                ++ran;
                return i;
            });
            EXPECT_EQ(v, i);
            ++resumed_with_value;
        } catch (const coven::cancelled_error&) {
            ++resumed_cancelled;
        }
    };
    auto main = [&]() -> task<void> {
        std::mt19937 rng(12345);
        std::vector<coven::future<void>> tasks;
        for (int i = 0; i < n; ++i) {
            tasks.push_back(coven::current_loop()->create_task(one(i)));
        }
        for (int round = 0; round < 20; ++round) {
            co_await coven::skip_ready_cycle();
            for (int k = 0; k < 50; ++k) {
                tasks[rng() % n].cancel();
            }
        }
        for (auto& t : tasks) {
            co_await t.wait();
        }
    };
    loop.run_until_complete(main());
    pool.shutdown();
    EXPECT_EQ(resumed_with_value + resumed_cancelled, n); // each once
    EXPECT_GE(ran.load(), resumed_with_value);            // some ran and were dropped
}

TEST(ThreadPool, PostRunsEveryJobOnce) {
    std::atomic<int> ran{0};
    {
        thread_pool pool({.threads = 3});
        for (int i = 0; i < 1000; ++i) {
            pool.post([&ran] { ++ran; });
        }
    } // the destructor drains the queue and joins
    EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPool, ABoundedQueueRefusesTryPostAndBlocksPostUntilThereIsRoom) {
    thread_pool pool({.threads = 1, .max_queued = 2});
    gate g;
    std::atomic<int> ran{0};
    std::promise<void> started;
    pool.post([&] {
        started.set_value();
        g.pass();
    });
    started.get_future().wait(); // the worker holds the first job; the queue is empty
    EXPECT_TRUE(pool.try_post([&ran] { ++ran; }));
    EXPECT_TRUE(pool.try_post([&ran] { ++ran; }));
    EXPECT_FALSE(pool.try_post([&ran] { ++ran; })); // full
    std::thread opener([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        g.open();
    });
    pool.post([&ran] { ++ran; }); // blocks until the worker makes room
    opener.join();
    pool.shutdown();
    EXPECT_EQ(ran.load(), 3);
}

TEST(ThreadPool, PostOnAFullQueueFromALoopThreadIsAUsageError) {
    thread_pool pool({.threads = 1, .max_queued = 1});
    gate g;
    std::promise<void> started;
    pool.post([&] {
        started.set_value();
        g.pass();
    });
    started.get_future().wait();
    pool.post([] {});
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_THROW(pool.post([] {}), coven::usage_error);
        co_return;
    };
    loop.run_until_complete(main());
    g.open();
}

TEST(ThreadPool, UseAfterShutdownIsAUsageError) {
    thread_pool pool({.threads = 1});
    pool.shutdown();
    pool.shutdown(); // idempotent
    EXPECT_THROW(pool.post([] {}), coven::usage_error);
    EXPECT_THROW((void)pool.try_post([] {}), coven::usage_error);
    coven::event_loop loop(virtual_options());
    EXPECT_THROW(loop.run_until_complete(coven::run_in_executor(pool, [] { return 1; })),
                 coven::usage_error);
}

TEST(Executor, LoopStopWaitsForAShieldedCallInsteadOfGivingUpOnIt) {
    thread_pool pool({.threads = 1});
    gate g;
    std::atomic<bool> started{false};
    std::atomic<bool> task_finished{false};
    {
        coven::event_loop loop(virtual_options());
        loop.start();
        auto body = [&]() -> task<void> {
            coven::cancel_scope shielded;
            shielded.set_shield(true);
            co_await shielded.run(coven::run_in_executor(pool, [&] {
                started = true;
                g.pass();
            }));
            task_finished = true;
        };
        loop.call_soon_threadsafe([&] { loop.create_task(body()); });
        while (!started.load()) {
            std::this_thread::yield();
        }
        std::thread opener([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            g.open();
        });
        loop.stop(); // waits for the shielded call, which the worker finishes
        opener.join();
    }
    EXPECT_TRUE(task_finished.load());
    pool.shutdown();
}

TEST(Executor, ACancelledEnterExecutorBlockIsWaitedForBeforeTheTaskGoesOn) {
    thread_pool pool({.threads = 1});
    coven::event_loop loop(virtual_options());
    gate g;
    std::atomic<bool> started{false};
    std::vector<std::string> log;
    auto body = [&]() -> task<void> {
        int local = 0; // the block writes here: the frame must outlive the block
        co_await coven::enter_executor(pool, [&] {
            started = true;
            g.pass();
            local = 42;
        });
        log.push_back("block done, local " + std::to_string(local));
        co_await coven::sleep(1.0); // the pending cancellation is raised here
        log.emplace_back("not cancelled");
    };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(body());
        co_await coven::run_in_executor(coven::default_thread_pool(), [&started] {
            while (!started.load()) {
                std::this_thread::yield();
            }
        });
        f.cancel();
        co_await coven::sleep(0.5);
        EXPECT_FALSE(f.done()); // still waiting for its block
        g.open();
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"block done, local 42"});
}

TEST(ThreadPool, PostTakesMoveOnlyJobs) {
    std::atomic<int> got{0};
    {
        thread_pool pool({.threads = 1});
        auto p = std::make_unique<int>(5);
        pool.post([p = std::move(p), &got] { got = *p; });
    }
    EXPECT_EQ(got.load(), 5);
}
