// coven::barrier: phases that repeat, the completion function, arrive_and_drop, cancelled
// arrivals withdrawn, misuse, destruction.
#include <coven/barrier.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

/// "<name>:<phase>@<virtual seconds>"
auto entry(const std::string& name, std::uint64_t phase) -> std::string {
    return name + ":" + std::to_string(phase) + "@" +
           std::to_string(static_cast<int>(coven::current_loop()->time()));
}

/// For each of `rounds` rounds: sleeps `work` seconds, arrives and waits, logs the phase and time.
auto worker(coven::barrier& b, std::string name, double work, int rounds,
            std::vector<std::string>& log) -> task<void> {
    for (int i = 0; i < rounds; ++i) {
        co_await coven::sleep(work);
        const std::uint64_t phase = co_await b.arrive_and_wait();
        log.push_back(entry(name, phase));
    }
}

/// Sleeps `after`, arrives and waits once; logs the phase, or "<name> cancelled" and rethrows.
auto arrive_once(coven::barrier& b, std::string name, double after, std::vector<std::string>& log)
    -> task<void> {
    try {
        co_await coven::sleep(after);
        const std::uint64_t phase = co_await b.arrive_and_wait();
        log.push_back(entry(name, phase));
    } catch (const coven::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    }
}

struct reload : std::runtime_error {
    reload() : std::runtime_error("reload") {}
};

/// Sleeps `after`, arrives and waits once and logs the phase, then awaits once more (sleep(0))
/// and logs how that ended: "<name> next ran", "<name> next cancelled" or "<name> next
/// interrupted".
auto arrive_then_await_again(coven::barrier& b, std::string name, double after,
                             std::vector<std::string>& log) -> task<void> {
    co_await coven::sleep(after);
    const std::uint64_t phase = co_await b.arrive_and_wait();
    log.push_back(entry(name, phase));
    try {
        co_await coven::sleep(0);
        log.push_back(name + " next ran");
    } catch (const coven::cancelled_error&) {
        log.push_back(name + " next cancelled");
    } catch (const reload&) {
        log.push_back(name + " next interrupted");
    }
}

} // namespace

TEST(Barrier, PhasesRepeatAndEachCompletesWhenTheSlowestArrives) {
    coven::event_loop loop(virtual_options());
    coven::barrier b(3);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto x = lp->create_task(worker(b, "x", 1.0, 3, log));
        auto y = lp->create_task(worker(b, "y", 2.0, 3, log));
        auto z = lp->create_task(worker(b, "z", 3.0, 3, log));
        co_await x;
        co_await y;
        co_await z;
        EXPECT_EQ(vtime(loop), 9.0); // 3 phases of 3 s: everyone waits for z
    };
    loop.run_until_complete(main());
    // z arrives last each time and goes on first; x and y follow in the order they arrived.
    EXPECT_EQ(log, (std::vector<std::string>{"z:0@3", "x:0@3", "y:0@3", "z:1@6", "x:1@6", "y:1@6",
                                             "z:2@9", "x:2@9", "y:2@9"}));
    EXPECT_EQ(b.phase(), 3u);
    EXPECT_EQ(b.statistics().phase, 3u);
    EXPECT_EQ(b.statistics().waiting, 0u);
    EXPECT_EQ(b.statistics().expected, 3);
}

TEST(Barrier, ABarrierOfOneNeverWaits) {
    coven::event_loop loop(virtual_options());
    coven::barrier b(1);
    auto main = [&]() -> task<void> {
        for (std::uint64_t i = 0; i < 5; ++i) {
            EXPECT_EQ(co_await b.arrive_and_wait(), i);
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(b.phase(), 5u);
}

TEST(Barrier, CompletionRunsOncePerPhaseAfterTheWaitersAreReleasedAndBeforeAnyOfThemRuns) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier* self = nullptr;
    coven::barrier b(3, [&] {
        // The waiters are released already (none waits), but none has run: the log shows that
        // only the last arrival's turn is running.
        const coven::barrier_statistics s = self->statistics();
        log.push_back("completion " + std::to_string(s.phase) + " waiting " +
                      std::to_string(s.waiting));
    });
    self = &b;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto x = lp->create_task(worker(b, "x", 1.0, 2, log));
        auto w = lp->create_task(worker(b, "w", 1.5, 2, log));
        auto y = lp->create_task(worker(b, "y", 2.0, 2, log));
        co_await x;
        co_await w;
        co_await y;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"completion 0 waiting 0", "y:0@2", "x:0@2", "w:0@2",
                                             "completion 1 waiting 0", "y:1@4", "x:1@4", "w:1@4"}));
}

TEST(Barrier, ACancelledArrivalIsWithdrawnSoThePhaseWaitsForAnother) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    int completions = 0;
    coven::barrier b(3, [&] { ++completions; });
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(arrive_once(b, "a", 1.0, log));
        auto gone = lp->create_task(arrive_once(b, "gone", 1.0, log));
        co_await coven::sleep(2.0);
        EXPECT_EQ(b.statistics().waiting, 2u);
        gone.cancel();
        co_await coven::sleep(0);
        EXPECT_EQ(b.statistics().waiting, 1u); // its arrival is withdrawn
        auto c = lp->create_task(arrive_once(b, "c", 1.0, log));
        co_await coven::sleep(2.0);
        EXPECT_EQ(completions, 0); // a and c: one short, although three tasks arrived
        EXPECT_EQ(b.statistics().waiting, 2u);
        auto d = lp->create_task(arrive_once(b, "d", 1.0, log));
        co_await a;
        co_await c;
        co_await d;
        EXPECT_TRUE(gone.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(completions, 1);
    EXPECT_EQ(log, (std::vector<std::string>{"gone cancelled", "d:0@5", "a:0@5", "c:0@5"}));
}

TEST(Barrier, AnInterruptedArrivalIsWithdrawnToo) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier b(2);
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(coven::task_interrupt(a));
        EXPECT_TRUE(a.done());
        EXPECT_EQ(b.statistics().waiting, 0u);
        auto c = lp->create_task(arrive_once(b, "c", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(b.phase(), 0u); // c alone does not complete it
        EXPECT_EQ(co_await b.arrive_and_wait(), 0u);
        co_await c;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a cancelled", "c:0@2"}));
}

TEST(Barrier, AWaiterCancelledAfterItsPhaseCompletedReturnsThePhaseAndItsNextAwaitRaises) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    int completions = 0;
    coven::barrier b(3, [&] { ++completions; });
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(arrive_then_await_again(b, "a", 0.0, log));
        auto c = lp->create_task(arrive_then_await_again(b, "c", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(co_await b.arrive_and_wait(), 0u); // the last: completes phase 0
        c.cancel(); // released, but not run yet: its arrival counted, the cancel stays pending
        co_await a;
        co_await c.wait();
        EXPECT_FALSE(c.cancelled()); // it caught the cancellation at its next await
        EXPECT_EQ(b.phase(), 1u);
        EXPECT_EQ(completions, 1);
        EXPECT_EQ(b.statistics().expected, 3); // the next phase still expects three
        EXPECT_EQ(b.statistics().waiting, 0u);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a:0@1", "c:0@1", "c next cancelled", "a next ran"}));
}

TEST(Barrier, AWaiterInterruptedAfterItsPhaseCompletedReturnsThePhaseAndItsNextAwaitRaises) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier b(2);
    auto main = [&]() -> task<void> {
        auto c = coven::current_loop()->create_task(arrive_then_await_again(b, "c", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(co_await b.arrive_and_wait(), 0u); // the last: completes phase 0
        coven::task_throw(c, reload{}); // released, not run yet: raised at its next await
        co_await c;
        EXPECT_EQ(b.statistics().expected, 2);
        EXPECT_EQ(b.statistics().waiting, 0u);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"c:0@1", "c next interrupted"}));
}

TEST(Barrier, AWaiterCancelledByTheCompletionReturnsThePhaseAndItsNextAwaitRaises) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::future<void>* victim = nullptr;
    coven::barrier b(2, [&] { victim->cancel(); }); // the waiter is released already
    auto main = [&]() -> task<void> {
        auto c = coven::current_loop()->create_task(arrive_then_await_again(b, "c", 0.0, log));
        victim = &c;
        co_await coven::sleep(1.0);
        EXPECT_EQ(co_await b.arrive_and_wait(), 0u);
        co_await c.wait();
        EXPECT_FALSE(c.cancelled());
        EXPECT_EQ(b.phase(), 1u);
        EXPECT_EQ(b.statistics().waiting, 0u);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"c:0@1", "c next cancelled"}));
}

TEST(Barrier, AnArrivalWithACancelPendingRaisesWithoutArriving) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier b(2);
    auto main = [&]() -> task<void> {
        coven::cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run([&]() -> task<void> { co_await b.arrive_and_wait(); }()));
        EXPECT_EQ(b.statistics().waiting, 0u);
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 1.0, log));
        co_await coven::sleep(2.0);
        EXPECT_EQ(b.phase(), 0u);
        co_await b.arrive_and_wait();
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@2"});
}

TEST(Barrier, TheLastArrivalWithACancelPendingStillCompletesThePhase) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    int completions = 0;
    coven::barrier b(2, [&] { ++completions; });
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        coven::cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run([&]() -> task<void> {
            log.push_back(entry("last", co_await b.arrive_and_wait())); // completes phase 0
            co_await coven::sleep(0);                                   // raises
            log.push_back("not reached");
        }()));
        EXPECT_EQ(completions, 1);
        EXPECT_EQ(b.phase(), 1u);
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"last:0@1", "a:0@1"}));
}

TEST(Barrier, ArriveAndDropLowersEveryLaterPhase) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    int completions = 0;
    coven::barrier b(3, [&] { ++completions; });
    auto leaver = [](coven::barrier& b, std::vector<std::string>& log) -> task<void> {
        co_await coven::sleep(1.0);
        const std::uint64_t phase = co_await b.arrive_and_wait();
        log.push_back(entry("leaver", phase));
        co_await coven::sleep(0.5);
        b.arrive_and_drop(); // arrives in phase 1 and leaves
        log.push_back("dropped");
    };
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto x = lp->create_task(worker(b, "x", 2.0, 3, log));
        auto y = lp->create_task(worker(b, "y", 2.0, 3, log));
        auto l = lp->create_task(leaver(b, log));
        co_await x;
        co_await y;
        co_await l;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(b.statistics().expected, 2);
    EXPECT_EQ(b.statistics().dropped, 1u);
    EXPECT_EQ(completions, 3);
    EXPECT_EQ(log, (std::vector<std::string>{"y:0@2", "leaver:0@2", "x:0@2", "dropped", "x:1@4",
                                             "y:1@4", "y:2@6", "x:2@6"}));
}

TEST(Barrier, ArriveAndDropByTheLastOneCompletesThePhase) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    int completions = 0;
    coven::barrier b(2, [&] { ++completions; });
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        b.arrive_and_drop();
        EXPECT_EQ(completions, 1);
        EXPECT_EQ(b.phase(), 1u);
        co_await a;
        EXPECT_EQ(co_await b.arrive_and_wait(), 1u); // a barrier of one now
        b.arrive_and_drop();                         // the last one leaves: phase 2 completes
        EXPECT_EQ(b.phase(), 3u);
        EXPECT_EQ(completions, 3);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@1"});
}

TEST(Barrier, ArrivingWhenNobodyIsExpectedIsAUsageError) {
    coven::event_loop loop(virtual_options());
    EXPECT_THROW(coven::barrier(-1), coven::usage_error);
    coven::barrier none(0);
    coven::barrier one(1);
    EXPECT_THROW(none.arrive_and_drop(), coven::usage_error);
    one.arrive_and_drop();
    EXPECT_THROW(one.arrive_and_drop(), coven::usage_error);
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await none.arrive_and_wait(), coven::usage_error);
        EXPECT_THROW(co_await one.arrive_and_wait(), coven::usage_error);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(one.phase(), 1u);
    EXPECT_EQ(none.phase(), 0u);
}

TEST(Barrier, TheMessageSaysWhatWasWrongAndWhatToDo) {
    coven::barrier none(0);
    try {
        none.arrive_and_drop();
        ADD_FAILURE() << "no exception";
    } catch (const coven::usage_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("expects nobody"), std::string::npos) << msg;
        EXPECT_NE(msg.find("construct it for the tasks"), std::string::npos) << msg;
    }
}

TEST(Barrier, ArrivingFromInsideTheCompletionIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::barrier* self = nullptr;
    bool refused = false;
    coven::barrier b(1, [&] {
        try {
            self->arrive_and_drop();
        } catch (const coven::usage_error&) {
            refused = true;
        }
    });
    self = &b;
    auto main = [&]() -> task<void> { co_await b.arrive_and_wait(); };
    loop.run_until_complete(main());
    EXPECT_TRUE(refused);
    EXPECT_EQ(b.expected(), 1);
    EXPECT_EQ(b.phase(), 1u);
}

TEST(Barrier, ACompletionThatThrowsOutOfArriveAndDropStillCompletesThePhase) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier b(2, [] { throw std::runtime_error("completion failed"); });
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_THROW(b.arrive_and_drop(), std::runtime_error);
        EXPECT_EQ(b.phase(), 1u);
        EXPECT_EQ(b.expected(), 1); // the drop happened
        EXPECT_EQ(b.statistics().dropped, 1u);
        EXPECT_EQ(b.statistics().waiting, 0u);
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@1"});
}

TEST(Barrier, ACompletionThatThrowsStillReleasesThePhaseAndTheLastArrivalRaises) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    coven::barrier b(2, [] { throw std::runtime_error("completion failed"); });
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        EXPECT_THROW(co_await b.arrive_and_wait(), std::runtime_error);
        co_await a;
        EXPECT_EQ(b.phase(), 1u);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@1"});
}

TEST(Barrier, DestroyedWhileATaskWaitsTheWaitRaisesUsageError) {
    coven::event_loop loop(virtual_options());
    auto b = std::make_unique<coven::barrier>(2);
    auto waiter = [](coven::barrier& b) -> task<void> { co_await b.arrive_and_wait(); };
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(waiter(*b));
        co_await coven::sleep(0.1);
        b.reset();
        EXPECT_THROW(co_await w, coven::usage_error);
    };
    loop.run_until_complete(main());
}

TEST(Barrier, DestroyedAfterThePhaseCompletedButBeforeAWaiterRanTheWaitReturnsItsPhase) {
    coven::event_loop loop(virtual_options());
    auto b = std::make_unique<coven::barrier>(3);
    auto waiter = [](coven::barrier& b) -> task<std::uint64_t> {
        co_return co_await b.arrive_and_wait();
    };
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        // Phase 0 first, so that the released waiters' phase (1) is not what a zeroed or freed
        // barrier would read.
        auto p0 = lp->create_task(waiter(*b));
        auto p0b = lp->create_task(waiter(*b));
        co_await coven::sleep(0.1);
        EXPECT_EQ(co_await b->arrive_and_wait(), 0u);
        EXPECT_EQ(co_await p0, 0u);
        EXPECT_EQ(co_await p0b, 0u);
        auto w = lp->create_task(waiter(*b));
        auto c = lp->create_task(waiter(*b));
        co_await coven::sleep(0.1);
        EXPECT_EQ(co_await b->arrive_and_wait(), 1u); // releases w and c...
        c.cancel(); // (c's cancellation stays pending: it has no further await)
        b.reset();  // ...and the barrier goes before they run
        EXPECT_EQ(co_await w, 1u);
        EXPECT_EQ(co_await c, 1u);
    };
    loop.run_until_complete(main());
}

TEST(Barrier, ArriveAndDropFromAnotherThreadOnceATaskUsedItIsAUsageErrorEvenMidPhase) {
    coven::event_loop loop(virtual_options());
    coven::barrier b(3);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0); // a waits: one of three arrived
        bool refused = false;
        std::thread other([&] {
            try {
                b.arrive_and_drop(); // would not complete the phase
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        EXPECT_EQ(b.expected(), 3); // nothing changed
        EXPECT_EQ(b.statistics().dropped, 0u);
        b.arrive_and_drop();
        co_await b.arrive_and_wait();
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@1"});
}

TEST(Barrier, CompletingAPhaseFromAnotherThreadWhileTasksWaitIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::barrier b(2);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_once(b, "a", 0.0, log));
        co_await coven::sleep(1.0);
        bool refused = false;
        std::thread other([&] {
            try {
                b.arrive_and_drop();
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        EXPECT_EQ(b.expected(), 2); // nothing changed
        co_await b.arrive_and_wait();
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a:0@1"});
}
