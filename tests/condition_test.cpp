// coven::condition: wait gives the lock up and takes it back; notify order; cancellation.
#include <coven/condition.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <coven/event.hpp>
#include <coven/interrupt.hpp>

#include <deque>
#include <memory>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {
auto waiter(coven::lock& l, coven::condition& c, std::string name, std::vector<std::string>& log)
    -> task<void> {
    auto held = co_await l.scoped();
    try {
        co_await c.wait(l);
        log.push_back(name + (l.held_by_caller() ? " woke holding" : " woke without the lock"));
    } catch (const coven::cancelled_error&) {
        log.push_back(name +
                      (l.held_by_caller() ? " cancelled holding" : " cancelled without the lock"));
        throw;
    }
}
} // namespace

TEST(Condition, NotifyOneWakesTheFirstWaiterWhichHoldsTheLockAgain) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(waiter(l, c, "a", log));
        auto b = lp->create_task(waiter(l, c, "b", log));
        co_await coven::sleep(1.0);
        EXPECT_FALSE(l.locked()); // both gave it up while they wait
        EXPECT_EQ(c.statistics().waiting, 2u);
        c.notify_one();
        co_await a;
        EXPECT_FALSE(b.done());
        c.notify_all();
        co_await b;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a woke holding", "b woke holding"}));
}

TEST(Condition, ThePredicateFormWaitsUntilItHolds) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::deque<int> jobs;
    std::vector<int> done;
    auto consumer = [&]() -> task<void> {
        for (int i = 0; i < 3; ++i) {
            auto held = co_await l.scoped();
            co_await c.wait(l, [&] { return !jobs.empty(); });
            done.push_back(jobs.front());
            jobs.pop_front();
        }
    };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(consumer());
        for (int i = 1; i <= 3; ++i) {
            co_await coven::sleep(1.0);
            auto held = co_await l.scoped();
            jobs.push_back(i);
            c.notify_one();
        }
        co_await f;
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(done, (std::vector<int>{1, 2, 3}));
}

TEST(Condition, ACancelledWaiterTakesTheLockBackBeforeItRaises) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(waiter(l, c, "a", log));
        co_await coven::sleep(1.0);
        {
            auto held = co_await l.scoped(); // a must wait for the lock to raise
            a.cancel();
            co_await coven::sleep(1.0);
            EXPECT_FALSE(a.done());
            EXPECT_EQ(c.statistics().waiting, 0u); // it left the condition at once
        }
        co_await a.wait();
        EXPECT_TRUE(a.cancelled());
        EXPECT_FALSE(l.locked()); // its guard released on the way out
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a cancelled holding"});
}

TEST(Condition, ANotifiedWaiterCancelledBeforeItRanPassesTheNotificationOn) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(waiter(l, c, "a", log));
        auto b = lp->create_task(waiter(l, c, "b", log));
        co_await coven::sleep(1.0);
        c.notify_one(); // a is chosen...
        a.cancel();     // ...and cancelled before it ran: b gets the notification
        co_await b;
        co_await a.wait();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a cancelled holding", "b woke holding"}));
}

TEST(Condition, WaitingWithoutHoldingTheLockIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    auto main = [&]() -> task<void> {
        EXPECT_THROW((void)c.wait(l), coven::usage_error);
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(Condition, WaitingFromAnotherLoopIsAUsageErrorThatLeavesTheLockHeld) {
    coven::condition c;
    coven::event_loop first(virtual_options());
    coven::event_loop second(virtual_options());
    first.run_until_complete([](coven::condition& c) -> task<void> { // binds c to `first`
        c.notify_one();
        co_return;
    }(c));
    coven::lock l;
    bool refused = false;
    bool held_after = false;
    auto main = [&]() -> task<void> {
        co_await l.acquire();
        try {
            co_await c.wait(l);
        } catch (const coven::usage_error&) {
            refused = true;
        }
        held_after = l.held_by_caller();
        if (held_after) {
            l.release();
        }
    };
    second.run_until_complete(main());
    EXPECT_TRUE(refused);
    EXPECT_TRUE(held_after);
    EXPECT_FALSE(l.locked());
}

TEST(Condition, NotifyNWakesThatManyInOrderAndCountsThem) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 4; ++i) {
            fs.push_back(coven::current_loop()->create_task(waiter(l, c, std::to_string(i), log)));
        }
        co_await coven::sleep(1.0);
        c.notify(2);
        co_await fs[0];
        co_await fs[1];
        EXPECT_EQ(c.statistics().waiting, 2u);
        EXPECT_EQ(c.statistics().notified, 2u);
        c.notify_all();
        co_await fs[2];
        co_await fs[3];
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"0 woke holding", "1 woke holding", "2 woke holding",
                                             "3 woke holding"}));
}

TEST(Condition, AWaitWithACancelPendingRaisesWithoutGivingTheLockUp) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    auto main = [&]() -> task<void> {
        auto held = co_await l.scoped();
        coven::cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run(c.wait(l)));
        EXPECT_TRUE(held.owns_lock());
        EXPECT_EQ(l.statistics().acquisitions, 1u); // never released and retaken
    };
    loop.run_until_complete(main());
}

TEST(Condition, AnInterruptedWaiterTakesTheLockBackFirst) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    coven::condition c;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(waiter(l, c, "a", log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(coven::task_interrupt(a));
        co_await a.wait();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"a cancelled holding"});
}

TEST(Condition, DestroyedWhileATaskWaitsTheWaitRaisesUsageErrorHoldingTheLock) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    auto c = std::make_unique<coven::condition>();
    bool holding = false;
    auto w = [](coven::lock& l, coven::condition& c, bool& holding) -> task<void> {
        auto held = co_await l.scoped();
        try {
            co_await c.wait(l);
        } catch (const coven::usage_error&) {
            holding = l.held_by_caller();
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(w(l, *c, holding));
        co_await coven::sleep(1.0);
        c.reset();
        EXPECT_THROW(co_await f, coven::usage_error);
        EXPECT_FALSE(l.locked());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(holding);
}

TEST(Condition, AWaiterRetakingTheLockThatLoopStopDestroysLetsTheLockGo) {
    coven::lock l;
    coven::condition c;
    coven::event never;
    auto waiter = [](coven::lock& l, coven::condition& c) -> task<void> {
        auto held = co_await l.scoped();
        co_await c.wait(l); // notified, then retakes l: that ignores cancellation by design
    };
    auto holder = [](coven::lock& l, coven::condition& c, coven::event& never) -> task<void> {
        auto held = co_await l.scoped();
        c.notify_one();
        for (;;) { // holds l and ignores cancellation
            try {
                co_await never.wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    coven::event_loop loop(virtual_options());
    auto w = loop.create_task(waiter(l, c));
    loop.run_until_complete(sleep_for(1.0)); // w waits in c
    {
        auto h = loop.create_task(holder(l, c, never));
        loop.run_until_complete(sleep_for(1.0)); // h holds l; w waits to retake it
        EXPECT_EQ(l.statistics().waiting, 1u);
        loop.stop(); // both referenced and stuck: both destroyed, and w leaves l's queue
        EXPECT_EQ(l.statistics().waiting, 0u);
        EXPECT_FALSE(l.locked()); // h's guard freed l, which did not go to w
        EXPECT_TRUE(w.cancelled());
        EXPECT_TRUE(h.cancelled());
    }
    EXPECT_FALSE(l.locked());
}
