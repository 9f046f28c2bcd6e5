// Cancellation (ARCHITECTURE §3, S8) and TESTING.md's lifecycle matrix.
#include <coven/executor.hpp>
#include <coven/future.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

enum class body_kind { returns, throws, cancelled };
enum class cancel_at { never, before_start, while_suspended, after_finish };
enum class handle_use { awaited, dropped_early, dropped_late };

struct record {
    bool started = false;
    bool reached_end = false;
    bool unwound_by_exception = false; // its frame was left by a throw (a drop throws nothing)
};

/// Notes whether the frame it lives in is left by an exception.
struct unwind_probe {
    record* r;
    explicit unwind_probe(record* rec) : r(rec) {}
    unwind_probe(const unwind_probe&) = delete;
    auto operator=(const unwind_probe&) -> unwind_probe& = delete;
    ~unwind_probe() { r->unwound_by_exception = std::uncaught_exceptions() > 0; }
};

auto body(body_kind kind, record& r) -> task<int> {
    r.started = true;
    unwind_probe probe{&r};
    co_await coven::sleep(1.0);
    r.reached_end = true;
    if (kind == body_kind::throws) {
        throw std::runtime_error("body threw");
    }
    if (kind == body_kind::cancelled) {
        throw coven::cancelled_error();
    }
    co_return 7;
}

int g_unobserved = 0;

} // namespace

TEST(Cancellation, LifecycleMatrixHasExactlyOneOutcomeAndLeaksNothing) {
    // TESTING.md #5: body x cancel time x handle x owner, and cancel() or abort() (which drops
    // the body where it sleeps: the outcomes are the same). A scope owner spawns without
    // bubbling, so that the outcomes match the loop owner's, and must not end before the task.
    coven::set_unobserved_exception_handler(
        [](std::exception_ptr, const std::string&) { ++g_unobserved; });
    for (bool by_abort : {false, true}) {
        for (bool owned_by_scope : {false, true}) {
            for (auto kind : {body_kind::returns, body_kind::throws, body_kind::cancelled}) {
                for (auto when : {cancel_at::never, cancel_at::before_start,
                                  cancel_at::while_suspended, cancel_at::after_finish}) {
                    for (auto use : {handle_use::awaited, handle_use::dropped_early,
                                     handle_use::dropped_late}) {
                        SCOPED_TRACE(testing::Message()
                                     << "owner " << (owned_by_scope ? "scope" : "loop") << " body "
                                     << static_cast<int>(kind) << " cancel "
                                     << static_cast<int>(when) << " handle "
                                     << static_cast<int>(use)
                                     << (by_abort ? " by abort()" : " by cancel()"));
                        g_unobserved = 0;
                        record r;
                        coven::event_loop loop(virtual_options());
                        const bool cancelled_outcome = kind == body_kind::cancelled ||
                                                       when == cancel_at::before_start ||
                                                       when == cancel_at::while_suspended;
                        auto stop = [&](future<int>& f) {
                            return by_abort ? f.abort() : f.cancel();
                        };
                        auto scenario = [&](future<int> f) -> task<void> {
                            if (when == cancel_at::before_start) {
                                EXPECT_TRUE(stop(f));
                            }
                            if (use == handle_use::dropped_early) {
                                if (when == cancel_at::while_suspended) {
                                    co_await coven::sleep(0.5);
                                    stop(f);
                                }
                                f = future<int>(); // drop the only handle: the task keeps running
                                co_await coven::sleep(5.0);
                                co_return;
                            }
                            if (when == cancel_at::while_suspended) {
                                co_await coven::sleep(0.5);
                                EXPECT_TRUE(stop(f));
                            }
                            if (use == handle_use::dropped_late ||
                                when == cancel_at::after_finish) {
                                co_await coven::sleep(5.0);
                                EXPECT_TRUE(f.done());
                            }
                            if (when == cancel_at::after_finish) {
                                EXPECT_FALSE(stop(f));
                            }
                            if (cancelled_outcome) {
                                EXPECT_THROW(co_await f, coven::cancelled_error);
                                EXPECT_TRUE(f.cancelled());
                            } else if (kind == body_kind::throws) {
                                EXPECT_THROW(co_await f, std::runtime_error);
                                EXPECT_FALSE(f.cancelled());
                            } else {
                                EXPECT_EQ(co_await f, 7);
                            }
                        };
                        auto main = [&]() -> task<void> {
                            if (!owned_by_scope) {
                                co_await scenario(loop.create_task(body(kind, r)));
                                co_return;
                            }
                            co_await coven::with_scope({}, [&](coven::task_scope& s) -> task<void> {
                                co_await scenario(s.spawn(body(kind, r), {.bubble = false}));
                            });
                            EXPECT_EQ(loop.statistics().live_tasks, 1u); // only main: none outlived
                        };
                        loop.run_until_complete(main());
                        EXPECT_EQ(r.started, when != cancel_at::before_start);
                        EXPECT_EQ(r.reached_end,
                                  when == cancel_at::never || when == cancel_at::after_finish);
                        // Cancelled while it sleeps: cancel() throws into it, abort() drops it.
                        // A body that throws once it woke is left by its own exception.
                        const bool woke_and_threw =
                            kind != body_kind::returns &&
                            (when == cancel_at::never || when == cancel_at::after_finish);
                        EXPECT_EQ(r.unwound_by_exception,
                                  woke_and_threw ||
                                      (when == cancel_at::while_suspended && !by_abort));
                        const bool unobserved_error =
                            use == handle_use::dropped_early && kind == body_kind::throws &&
                            (when == cancel_at::never || when == cancel_at::after_finish);
                        EXPECT_EQ(g_unobserved, unobserved_error ? 1 : 0);
                        EXPECT_EQ(loop.statistics().live_tasks, 0u);
                    }
                }
            }
        }
    }
    coven::set_unobserved_exception_handler(nullptr);
}

TEST(Cancellation, TaskMayCatchItAndAwaitDuringCleanup) {
    coven::event_loop loop(virtual_options());
    auto worker = []() -> task<int> {
        bool cancelled = false;
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            cancelled = true;
        }
        if (cancelled) {
            co_await coven::sleep(2.0); // cleanup may await: the request was consumed
            co_return 99;
        }
        co_return 0;
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(worker());
        co_await coven::sleep(1.0);
        f.cancel();
        EXPECT_EQ(co_await f, 99);
        EXPECT_FALSE(f.cancelled());
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, CancellingATaskCancelsTheTaskItAwaits) {
    coven::event_loop loop(virtual_options());
    future<void> inner;
    auto inner_body = []() -> task<void> { co_await coven::sleep(100.0); };
    auto outer_body = [&]() -> task<void> {
        inner = loop.create_task(inner_body());
        co_await inner;
    };
    auto main = [&]() -> task<void> {
        auto outer = loop.create_task(outer_body());
        co_await coven::sleep(1.0);
        outer.cancel();
        EXPECT_THROW(co_await outer, coven::cancelled_error);
        EXPECT_TRUE(inner.cancelled());
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
    inner = {};
}

TEST(Cancellation, CancelReachesTheInnermostAwaitedTaskChain) {
    coven::event_loop loop(virtual_options());
    bool inner_unwound = false;
    auto leaf = [&]() -> task<void> {
        struct guard {
            bool& flag;
            ~guard() { flag = true; }
        } g{inner_unwound};
        co_await coven::sleep(50.0);
    };
    auto middle = [&]() -> task<void> { co_await leaf(); };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(middle());
        co_await coven::sleep(1.0);
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_TRUE(inner_unwound);
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, RunningTaskSeesItAtItsNextSuspension) {
    coven::event_loop loop(virtual_options());
    future<void>* self = nullptr;
    std::vector<std::string> steps;
    auto body = [&]() -> task<void> {
        self->cancel(); // while running: only marks it
        steps.push_back("still running");
        try {
            co_await coven::sleep(5.0);
            steps.push_back("slept");
        } catch (const coven::cancelled_error&) {
            steps.push_back("cancelled at sleep");
        }
        co_await coven::sleep(1.0); // the request was consumed: this sleeps normally
        steps.push_back("slept after");
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(body());
        self = &f;
        co_await f;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(steps,
              (std::vector<std::string>{"still running", "cancelled at sleep", "slept after"}));
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST(Cancellation, ResultThatArrivedInTheSameTickIsNotLost) {
    // A and B sleep until t=1; A was armed first, so it runs first and cancels B, whose timer has
    // already fired: B's sleep completes normally and B sees the cancel at its next suspension.
    coven::event_loop loop(virtual_options());
    future<int> b;
    std::vector<std::string> steps;
    auto a_body = [&]() -> task<void> {
        co_await coven::sleep(1.0);
        b.cancel();
        steps.push_back("a cancelled b");
    };
    auto b_body = [&]() -> task<int> {
        co_await coven::sleep(1.0);
        steps.push_back("b woke normally");
        try {
            co_await coven::skip_ready_cycle();
        } catch (const coven::cancelled_error&) {
            steps.push_back("b cancelled at next suspension");
            throw;
        }
        co_return 1;
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(a_body());
        b = loop.create_task(b_body());
        co_await a;
        EXPECT_THROW(co_await b, coven::cancelled_error);
    };
    loop.run_until_complete(main());
    b = {};
    EXPECT_EQ(steps, (std::vector<std::string>{"a cancelled b", "b woke normally",
                                               "b cancelled at next suspension"}));
}

TEST(Cancellation, ATaskThatReturnsWithACancelStillPendingEndsCancelled) {
    // Its last statement is a block on a worker, cancelled while the block runs: cancel() says
    // true, the block finishes (a thread cannot be stopped), and the task returns. The cancel
    // must not be lost: the task ends cancelled, as asyncio's would.
    coven::event_loop loop(virtual_options());
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    bool block_ran = false;
    auto body = [&]() -> task<int> {
        co_await coven::enter_executor([&] {
            started = true;
            while (!release) {
                std::this_thread::yield();
            }
            block_ran = true;
        });
        co_return 1;
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(body());
        while (!started) {
            co_await coven::skip_poll_cycle();
        }
        EXPECT_TRUE(f.cancel());
        release = true;
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_TRUE(f.cancelled());
        EXPECT_FALSE(f.cancel());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(block_ran);
}

TEST(Cancellation, ATaskThatCancelsItselfAndReturnsEndsCancelled) {
    coven::event_loop loop(virtual_options());
    future<int> self;
    auto main = [&]() -> task<void> {
        self = loop.create_task([](future<int>* me) -> task<int> {
            EXPECT_TRUE(me->cancel()); // running: only marks it
            co_return 1;
        }(&self));
        EXPECT_THROW(co_await self, coven::cancelled_error);
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(self.cancelled());
    self = {};
}

TEST(Cancellation, ACancelAfterTheLastWaitFinishedLeavesTheValueAndAFailureStaysAFailure) {
    // The tasks' timers fire in the tick A cancels them, before them: each was woken with its
    // wait's result before the cancel came. Returning at once, one keeps its value (the result
    // arrived first); one that throws keeps its exception.
    coven::event_loop loop(virtual_options());
    future<int> returns;
    future<int> throws;
    auto a_body = [&]() -> task<void> {
        co_await coven::sleep(1.0);
        EXPECT_TRUE(returns.cancel());
        EXPECT_TRUE(throws.cancel());
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(a_body()); // armed first: it runs first in the tick
        returns = loop.create_task([]() -> task<int> {
            co_await coven::sleep(1.0);
            co_return 1;
        }());
        throws = loop.create_task([]() -> task<int> {
            co_await coven::sleep(1.0);
            throw std::runtime_error("failed");
        }());
        co_await a;
        EXPECT_EQ(co_await returns, 1);
        EXPECT_THROW(co_await throws, std::runtime_error);
    };
    loop.run_until_complete(main());
    EXPECT_FALSE(returns.cancelled());
    EXPECT_FALSE(throws.cancelled());
    returns = {};
    throws = {};
}

TEST(Cancellation, CancelIsIdempotentAndFalseAfterTheEnd) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task([]() -> task<void> { co_await coven::sleep(1.0); }());
        EXPECT_TRUE(f.cancel());
        EXPECT_TRUE(f.cancel());
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_FALSE(f.cancel());
    };
    loop.run_until_complete(main());
}

// --- every awaitable this issue adds, cancelled while parked ---

TEST(Cancellation, SleepIsDisarmedAndTheTaskResumesAtOnce) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task([]() -> task<void> { co_await coven::sleep(100.0); }());
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::testing::live().timers, 1);
        f.cancel();
        EXPECT_EQ(coven::testing::live().timers, 0); // unlinked from the wheel at once
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_DOUBLE_EQ(loop.time(), 0.0);
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, SkipReadyCycleThrowsWhenItResumes) {
    coven::event_loop loop(virtual_options());
    int resumed = 0;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task([](int& n) -> task<void> {
            co_await coven::skip_ready_cycle();
            co_await coven::skip_ready_cycle();
            ++n;
        }(resumed));
        co_await coven::skip_ready_cycle(); // f is now parked in its first yield
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_EQ(resumed, 0);
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, SkipPollCycleIsUnlinkedAndResumesBeforeThePoll) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task([]() -> task<void> { co_await coven::skip_poll_cycle(); }());
        co_await coven::skip_ready_cycle();
        auto polls = loop.statistics().polls;
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_EQ(loop.statistics().polls, polls); // woken by the cancel, not by a poll
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, AwaitingAFutureIsWokenOnceWhenTheAwaitedTaskEnds) {
    coven::event_loop loop(virtual_options());
    int waiter_runs = 0;
    int received = -1;
    auto main = [&]() -> task<void> {
        auto target = loop.create_task([]() -> task<int> {
            bool cancelled = false;
            try {
                co_await coven::sleep(10.0);
            } catch (const coven::cancelled_error&) {
                cancelled = true;
            }
            if (cancelled) {
                co_await coven::sleep(1.0);
                co_return 5; // ignores the cancel after cleaning up
            }
            co_return 0;
        }());
        auto waiter = loop.create_task([](future<int> t, int& runs, int& got) -> task<void> {
            ++runs;
            got = co_await t; // the target returned despite the cancel: its value is not lost
            ++runs;
            co_await coven::skip_ready_cycle(); // the cancel stayed pending: raised here
            ++runs;
        }(target, waiter_runs, received));
        co_await coven::sleep(2.0);
        waiter.cancel();
        EXPECT_THROW(co_await waiter, coven::cancelled_error);
        EXPECT_EQ(waiter_runs, 2);
        EXPECT_EQ(received, 5);
        EXPECT_EQ(target.result(), 5); // and it stays in its future
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(Cancellation, StormOfParkedTasksLeavesNothingBehind) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    coven::semaphore slots(2);
    coven::event never;
    coven::lock cond_lock;
    coven::condition unnotified;
    coven::queue<int> empty_queue;
    coven::queue<int> full_queue(1);
    coven::latch shut(1);
    coven::barrier crowd(100000);
    auto main = [&]() -> task<void> {
        co_await lock.acquire(); // held throughout: its waiters stay parked
        co_await slots.acquire();
        co_await slots.acquire();
        EXPECT_TRUE(full_queue.try_put(0));
        std::vector<future<void>> fs;
        for (int i = 0; i < 3000; ++i) {
            switch (i % 12) {
            case 7:
                fs.push_back(
                    loop.create_task([](coven::lock& l, coven::condition& c) -> task<void> {
                        auto held = co_await l.scoped();
                        co_await c.wait(l);
                    }(cond_lock, unnotified)));
                break;
            case 8:
                fs.push_back(loop.create_task([](coven::queue<int>& q) -> task<void> {
                    (void)co_await q.get();
                }(empty_queue)));
                break;
            case 9:
                fs.push_back(loop.create_task(
                    [](coven::queue<int>& q) -> task<void> { co_await q.put(1); }(full_queue)));
                break;
            case 10:
                fs.push_back(loop.create_task(
                    [](coven::latch& l) -> task<void> { co_await l.wait(); }(shut)));
                break;
            case 11:
                fs.push_back(loop.create_task([](coven::barrier& b) -> task<void> {
                    (void)co_await b.arrive_and_wait();
                }(crowd)));
                break;
            case 4:
                fs.push_back(loop.create_task(
                    [](coven::lock& l) -> task<void> { auto held = co_await l.scoped(); }(lock)));
                break;
            case 5:
                fs.push_back(loop.create_task(
                    [](coven::semaphore& s) -> task<void> { co_await s.acquire(); }(slots)));
                break;
            case 6:
                fs.push_back(
                    loop.create_task([](coven::event& e) -> task<void> { co_await e; }(never)));
                break;
            case 0:
                fs.push_back(loop.create_task(
                    [](int i) -> task<void> { co_await coven::sleep(1.0 + i % 7); }(i)));
                break;
            case 1:
                fs.push_back(loop.create_task([]() -> task<void> {
                    for (;;) {
                        co_await coven::skip_ready_cycle();
                    }
                }()));
                break;
            case 2:
                fs.push_back(loop.create_task([]() -> task<void> {
                    for (;;) {
                        co_await coven::skip_poll_cycle();
                    }
                }()));
                break;
            default:
                fs.push_back(
                    loop.create_task([](future<void> f) -> task<void> { co_await f; }(fs.front())));
            }
            if (i % 5 == 0) {
                fs.back().cancel(); // some before they start
            }
        }
        co_await coven::skip_ready_cycle();
        for (std::size_t i = 0; i < fs.size(); i += 2) {
            fs[i].cancel();
        }
        // Yielders never let the virtual clock jump, so let a few poll cycles pass instead.
        for (int k = 0; k < 3; ++k) {
            co_await coven::skip_poll_cycle();
        }
        for (auto& f : fs) {
            f.cancel();
        }
        for (auto& f : fs) {
            EXPECT_THROW(co_await f, coven::cancelled_error);
        }
        EXPECT_EQ(lock.statistics().waiting, 0u);
        EXPECT_EQ(slots.statistics().waiting, 0u);
        EXPECT_EQ(never.statistics().waiting, 0u);
        EXPECT_EQ(unnotified.statistics().waiting, 0u);
        EXPECT_FALSE(cond_lock.locked());
        EXPECT_EQ(empty_queue.statistics().getters_waiting, 0u);
        EXPECT_EQ(full_queue.statistics().putters_waiting, 0u);
        EXPECT_EQ(full_queue.size(), 1u); // no cancelled put got in
        EXPECT_EQ(shut.statistics().waiting, 0u);
        EXPECT_EQ(crowd.statistics().waiting, 0u); // every arrival withdrawn
        lock.release();
        slots.release();
        slots.release();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
}
