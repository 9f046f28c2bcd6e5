// eager_task_group (K25): asynkit's EagerTaskGroup, and the eager start it rests on
// (spawn_options::eager).
#include <coven/eager_task_group.hpp>
#include <coven/event.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coven_test;
using coven::eager_task_group;
using coven::task;
using coven::task_status;

namespace {

auto log_sleep_log(std::vector<std::string>& log, double seconds) -> task<void> {
    log.emplace_back("1");
    co_await coven::sleep(seconds);
    log.emplace_back("2");
}

auto ready_after(double seconds, int value, task_status<int> status) -> task<void> {
    co_await coven::sleep(seconds);
    status.started(value);
    co_await coven::sleep(1.0);
}

auto immediate() -> task<int> {
    co_return 7;
}

auto through_a_subtask(std::vector<std::string>& log) -> task<void> {
    log.emplace_back("before");
    int v = co_await immediate(); // an awaited child task that completes at once
    log.push_back("sub " + std::to_string(v));
    co_await coven::sleep(0.5);
    log.emplace_back("after");
}

} // namespace

TEST(EagerTaskGroup, StartSoonRunsTheChildUpToItsFirstSuspensionBeforeReturning) {
    // asynkit's eager ordering: a, 1, b, c, 2.
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        log.emplace_back("a");
        tg.start_soon(log_sleep_log(log, 0.2));
        log.emplace_back("b");
        co_await coven::sleep(0.1);
        log.emplace_back("c");
    }));
    EXPECT_EQ(log, (std::vector<std::string>{"a", "1", "b", "c", "2"}));
    EXPECT_DOUBLE_EQ(loop.time(), 0.2); // the group waited for the child
}

TEST(EagerTaskGroup, WithoutEagerTheChildWaitsForItsTurn) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_scope({}, [&](coven::task_scope& scope) -> task<> {
        log.emplace_back("a");
        scope.spawn(log_sleep_log(log, 0.2));
        log.emplace_back("b");
        co_await coven::sleep(0.1);
        log.emplace_back("c");
    }));
    EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "1", "c", "2"}));
}

TEST(EagerTaskGroup, AChildThatFinishesAtOnceIsDoneWhenStartSoonReturns) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([](eager_task_group& tg) -> task<> {
        auto f = tg.start_soon(immediate());
        EXPECT_TRUE(f.done());
        EXPECT_EQ(f.result(), 7);
        co_return;
    }));
}

TEST(EagerTaskGroup, AnEagerChildAwaitingASubtaskRunsThroughIt) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        tg.start_soon(through_a_subtask(log));
        log.emplace_back("returned");
        co_return;
    }));
    EXPECT_EQ(log, (std::vector<std::string>{"before", "sub 7", "returned", "after"}));
}

TEST(EagerTaskGroup, EagerChildrenNest) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        auto outer = [](eager_task_group& g, std::vector<std::string>& l) -> task<void> {
            l.emplace_back("outer");
            g.start_soon(log_sleep_log(l, 0.1));
            l.emplace_back("outer again");
            co_return;
        };
        tg.start_soon(outer(tg, log));
        log.emplace_back("caller");
        co_return;
    }));
    EXPECT_EQ(log, (std::vector<std::string>{"outer", "1", "outer again", "caller", "2"}));
}

TEST(EagerTaskGroup, StartReturnsTheValueTheChildReportsAndTheChildRunsOn) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        auto start = tg.start<int>(ready_after, 0.5, 42);
        EXPECT_FALSE(start.ready());
        EXPECT_EQ(co_await start, 42);
        EXPECT_DOUBLE_EQ(loop.time(), 0.5);
        EXPECT_FALSE(start.child().done()); // still running, in the group
    }));
    EXPECT_DOUBLE_EQ(loop.time(), 1.5);
}

TEST(EagerTaskGroup, AFailureBeforeStartedIsRaisedByStartNotByTheGroup) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([](eager_task_group& tg) -> task<> {
        auto failing = [](task_status<int>) -> task<void> {
            throw std::runtime_error("could not bind");
            co_return;
        };
        auto start = tg.start<int>(failing);
        EXPECT_TRUE(start.ready());
        bool raised = false;
        try {
            (void)co_await start;
        } catch (const std::runtime_error& e) {
            raised = std::string(e.what()) == "could not bind";
        }
        EXPECT_TRUE(raised);
    })); // nothing raised here
}

TEST(EagerTaskGroup, AFailureAfterStartedIsTheGroups) {
    coven::event_loop loop(virtual_options());
    auto body = [](eager_task_group& tg) -> task<> {
        auto late_failure = [](task_status<> status) -> task<void> {
            status.started();
            co_await coven::sleep(1.0);
            throw std::runtime_error("crashed later");
        };
        co_await tg.start(late_failure);
    };
    EXPECT_THROW(loop.run_until_complete(coven::with_eager_task_group(body)), std::runtime_error);
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST(EagerTaskGroup, EndingWithoutStartedIsReportedByStart) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([](eager_task_group& tg) -> task<> {
        auto forgetful = [](task_status<int>) -> task<void> { co_await coven::sleep(0.1); };
        EXPECT_THROW((void)co_await tg.start<int>(forgetful), coven::usage_error);
    }));
}

TEST(EagerTaskGroup, StartedTwiceIsAUsageError) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([](eager_task_group& tg) -> task<> {
        auto twice = [](task_status<int> status) -> task<void> {
            status.started(1);
            EXPECT_THROW(status.started(2), coven::usage_error);
            co_return;
        };
        EXPECT_EQ(co_await tg.start<int>(twice), 1);
    }));
}

TEST(EagerTaskGroup, ACancelledStartWaiterCancelsTheChildAndIsWokenOnce) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        auto waiter = [](eager_task_group& g, std::vector<std::string>& l) -> task<void> {
            auto start = g.start<int>(ready_after, 5.0, 1);
            try {
                (void)co_await start;
                l.emplace_back("started");
            } catch (const coven::cancelled_error&) {
                l.emplace_back("cancelled");
            }
            EXPECT_TRUE(start.child().cancelled() || !start.child().done());
        };
        auto w = coven::current_loop()->create_task(waiter(tg, log));
        co_await coven::sleep(1.0);
        w.cancel();
        co_await w.wait();
    }));
    EXPECT_EQ(log, std::vector<std::string>{"cancelled"});
    EXPECT_DOUBLE_EQ(loop.time(), 1.0); // the child was cancelled, not waited for
}

TEST(EagerTaskGroup, AnEagerSpawnIntoACancelledScopeNeverRunsTheBody) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coven::task_scope scope;
        scope.cancel();
        auto f = scope.spawn(log_sleep_log(log, 0.1), {.eager = true});
        EXPECT_TRUE(log.empty()); // not run inside spawn()
        scope.finalize();
        co_await scope.wait();
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty());
}

TEST(EagerTaskGroup, StartInACancelledGroupRaisesInsteadOfHanging) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        coven::task_scope scope;
        eager_task_group tg(scope);
        tg.cancel();
        auto start = tg.start<int>(ready_after, 0.1, 1); // cancelled before its first turn
        try {
            (void)co_await start; // the awaiting task is not cancelled: no hang, an error
        } catch (const coven::cancelled_error&) {
            log.emplace_back("cancelled_error");
        } catch (const coven::error&) {
            log.emplace_back("error");
        }
        scope.finalize();
        co_await scope.wait();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"error"});
}

TEST(EagerTaskGroup, ChildrenMayUseTheGroupAfterTheBlockHasReturned) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        tg.start_soon([](eager_task_group& g, std::vector<std::string>& l) -> task<void> {
            co_await coven::sleep(1.0); // the block has returned by now
            g.start_soon(log_sleep_log(l, 0.5));
        }(tg, log));
        co_return;
    }));
    EXPECT_EQ(log, (std::vector<std::string>{"1", "2"}));
    EXPECT_DOUBLE_EQ(loop.time(), 1.5);
}

TEST(EagerTaskGroup, StartKeepsACapturingLambdaAlive) {
    coven::event_loop loop(virtual_options());
    int ticks = 0;
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        int step = 2;
        // A temporary closure whose coroutine reads its captures after started().
        co_await tg.start([&ticks, step](task_status<> status) -> task<void> {
            status.started();
            for (int i = 0; i < 3; ++i) {
                co_await coven::sleep(1.0);
                ticks += step;
            }
        });
    }));
    EXPECT_EQ(ticks, 6);
}

TEST(EagerTaskGroup, AStartResultIsAwaitedOnce) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(coven::with_eager_task_group([](eager_task_group& tg) -> task<> {
        auto start = tg.start<int>(ready_after, 0.0, 3);
        EXPECT_EQ(co_await start, 3);
        EXPECT_THROW((void)co_await start, coven::usage_error);
    }));
}

TEST(EagerTaskGroup, ALongChainOfEagerStartsKeepsTheStackBounded) {
    // Each child eagerly starts the next: past a depth the turns are queued, not nested.
    coven::event_loop loop(virtual_options());
    int reached = 0;
    struct chain {
        static auto link(eager_task_group& g, int left, int& reached) -> task<void> {
            ++reached;
            if (left > 0) {
                g.start_soon(link(g, left - 1, reached));
            }
            co_return;
        }
    };
    loop.run_until_complete(coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
        tg.start_soon(chain::link(tg, 100'000, reached));
        co_return;
    }));
    EXPECT_EQ(reached, 100'001);
}

TEST(EagerTaskGroup, LoopStopDestroyingAStartedChildThatIgnoresCancellationTouchesNothingFreed) {
    // The child's frame holds the last reference to start()'s slot; a future keeps the child.
    // Loop stop destroys the frame and then tells the child's end: to a slot still alive.
    coven::event_loop loop(virtual_options());
    coven::event never;
    coven::future<void> keep;
    auto stubborn = [](coven::event* never, task_status<int> status) -> task<void> {
        status.started(1);
        for (;;) {
            try {
                co_await never->wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    auto main = [&]() -> task<void> {
        co_await coven::with_eager_task_group([&](eager_task_group& tg) -> task<> {
            auto start = tg.start<int>(stubborn, &never);
            keep = start.child();
            EXPECT_EQ(co_await std::move(start), 1);
        });
    };
    auto m = loop.create_task(main());
    loop.run_until_complete(sleep_for(1.0));
    loop.stop();
    EXPECT_TRUE(keep.cancelled());
    EXPECT_TRUE(m.done());
}
