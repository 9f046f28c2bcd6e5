// The primitive cancellation matrix (TESTING.md #2) for the primitives that hand out permits:
// cancel a waiter before it is chosen, after it is chosen but before it runs (the permit must
// pass on), and while it holds; exact FIFO; exclusion. wait_primitives_test.cpp runs the parts
// that apply to every primitive a task can wait in over all of them.
#include <coven/event.hpp>
#include <coven/interrupt.hpp>
#include <coven/lock.hpp>
#include <coven/priority_lock.hpp>
#include <coven/semaphore.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

template <class P>
auto make_primitive() -> std::unique_ptr<P> {
    if constexpr (std::is_default_constructible_v<P>) { // lock, priority_lock
        return std::make_unique<P>();
    } else {
        return std::make_unique<P>(1);
    }
}

/// Takes a permit, logs `name`, holds it for `hold` seconds, gives it back.
template <class P>
auto hold_for(P& p, std::string name, double hold, std::vector<std::string>& log) -> task<void> {
    auto held = co_await p.scoped();
    log.push_back(name);
    co_await coven::sleep(hold);
}

/// As hold_for(), but logs "<name> cancelled" if the wait or the hold is cancelled.
template <class P>
auto logged_hold(P& p, std::string name, double hold, std::vector<std::string>& log) -> task<void> {
    try {
        co_await hold_for(p, name, hold, log);
    } catch (const coven::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    }
}

/// Waits on `never` (which nobody sets), ignoring every cancellation: loop stop destroys it.
auto wait_forever(coven::event& never) -> task<void> {
    for (;;) {
        try {
            co_await never.wait();
        } catch (const coven::cancelled_error&) {
        }
    }
}

/// Takes a permit, then waits forever holding it.
template <class P>
auto stubborn_holder(P& p, coven::event& never) -> task<void> {
    auto held = co_await p.scoped();
    co_await wait_forever(never);
}

/// Waits for a permit, ignoring every cancellation of the wait, and gives it back.
template <class P>
auto stubborn_acquire(P& p) -> task<void> {
    for (;;) {
        try {
            auto held = co_await p.scoped();
            co_return;
        } catch (const coven::cancelled_error&) {
        }
    }
}

} // namespace

template <class P>
class PermitPrimitive : public ::testing::Test {};
using permit_primitives =
    ::testing::Types<coven::lock, coven::priority_lock, coven::semaphore, coven::scarlet_lock>;
TYPED_TEST_SUITE(PermitPrimitive, permit_primitives);

TYPED_TEST(PermitPrimitive, ACancelledWaiterLeavesTheQueueBeforeItIsChosen) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto a = l->create_task(logged_hold(*p, "a", 1.0, log));
        auto b = l->create_task(logged_hold(*p, "b", 1.0, log));
        auto c = l->create_task(logged_hold(*p, "c", 1.0, log));
        co_await coven::sleep(0.5);
        EXPECT_EQ(p->statistics().waiting, 2u);
        b.cancel();
        co_await coven::sleep(0); // b leaves at once
        EXPECT_EQ(p->statistics().waiting, 1u);
        co_await c;
        EXPECT_TRUE(b.cancelled());
        EXPECT_EQ(vtime(loop), 2.0); // c followed a directly
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a", "b cancelled", "c"}));
    EXPECT_TRUE(p->try_acquire()); // free again: nothing was lost
}

TYPED_TEST(PermitPrimitive, AWaiterCancelledAfterItWasChosenPassesThePermitOn) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        co_await p->acquire();
        auto b = l->create_task(logged_hold(*p, "b", 1.0, log));
        auto c = l->create_task(logged_hold(*p, "c", 1.0, log));
        co_await coven::sleep(0.5);
        p->release(); // hands the permit to b, which has not run yet...
        b.cancel();   // ...and is cancelled before it does
        co_await c;
        EXPECT_TRUE(b.cancelled());
        EXPECT_EQ(vtime(loop), 1.5);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"b cancelled", "c"}));
    EXPECT_EQ(p->statistics().acquisitions, 2u); // ours and c's: b never got it
    EXPECT_EQ(p->statistics().contended, 1u);
    EXPECT_TRUE(p->try_acquire());
}

TYPED_TEST(PermitPrimitive, ReleaseHandsItOverSoNobodyCanBargeIn) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        co_await p->acquire();
        auto w = coven::current_loop()->create_task(hold_for(*p, "w", 0.0, log));
        co_await coven::sleep(0.5);
        p->release();
        EXPECT_FALSE(p->try_acquire()); // w holds it now, although it has not run yet
        co_await w;
        EXPECT_TRUE(p->try_acquire());
        p->release();
    };
    loop.run_until_complete(main());
}

TYPED_TEST(PermitPrimitive, DestroyedAfterItChoseAWaiterTheWaitRaisesUsageError) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    auto waiter = [](TypeParam& p) -> task<void> { co_await p.acquire(); };
    auto main = [&]() -> task<void> {
        co_await p->acquire();
        auto w = coven::current_loop()->create_task(waiter(*p));
        co_await coven::sleep(0.1);
        p->release(); // w is chosen...
        p.reset();    // ...and the primitive goes before w runs
        EXPECT_THROW(co_await w, coven::usage_error);
    };
    loop.run_until_complete(main());
}

TYPED_TEST(PermitPrimitive, AnInterruptedWaiterLeavesTheQueueAndThePermitStays) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        co_await p->acquire();
        auto w = coven::current_loop()->create_task(logged_hold(*p, "w", 1.0, log));
        co_await coven::sleep(0.1);
        EXPECT_TRUE(coven::task_interrupt(w));
        EXPECT_TRUE(w.done());
        EXPECT_EQ(p->statistics().waiting, 0u);
        p->release();
        EXPECT_TRUE(p->try_acquire()); // free: nothing was handed to the interrupted waiter
        p->release();
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"w cancelled"});
}

TYPED_TEST(PermitPrimitive, ACancelWhileHoldingGivesThePermitBackOnTheWayOut) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto a = l->create_task(logged_hold(*p, "a", 10.0, log));
        auto b = l->create_task(logged_hold(*p, "b", 1.0, log));
        co_await coven::sleep(2.0);
        a.cancel();
        co_await b;
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a", "a cancelled", "b"}));
}

TYPED_TEST(PermitPrimitive, WaitersGetItInExactlyTheOrderTheyCame) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 200; ++i) {
            fs.push_back(
                coven::current_loop()->create_task(hold_for(*p, std::to_string(i), 0.0, log)));
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    ASSERT_EQ(log.size(), 200u);
    for (int i = 0; i < 200; ++i) {
        EXPECT_EQ(log[static_cast<std::size_t>(i)], std::to_string(i));
    }
    EXPECT_EQ(p->statistics().acquisitions, 200u);
}

TYPED_TEST(PermitPrimitive, NoTwoTasksHoldItAtOnce) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    int inside = 0;
    int most = 0;
    auto worker = [](TypeParam& p, int& inside, int& most) -> task<void> {
        for (int round = 0; round < 20; ++round) {
            auto held = co_await p.scoped();
            most = std::max(most, ++inside);
            co_await coven::skip_ready_cycle(); // let every other task try to get in
            --inside;
        }
    };
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 10; ++i) {
            fs.push_back(coven::current_loop()->create_task(worker(*p, inside, most)));
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(most, 1);
}

TYPED_TEST(PermitPrimitive, AWaitWithACancelPendingRaisesWithoutQueueing) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto holder = coven::current_loop()->create_task(hold_for(*p, "holder", 1.0, log));
        co_await coven::sleep(0.5);
        coven::cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run([&]() -> task<void> { co_await p->acquire(); }()));
        EXPECT_EQ(p->statistics().waiting, 0u);
        co_await holder;
    };
    loop.run_until_complete(main());
}

TYPED_TEST(PermitPrimitive, DestroyedWhileATaskWaitsTheWaitRaisesUsageError) {
    coven::event_loop loop(virtual_options());
    auto p = make_primitive<TypeParam>();
    auto waiter = [](TypeParam& p) -> task<void> { co_await p.acquire(); };
    auto main = [&]() -> task<void> {
        co_await p->acquire();
        auto w = coven::current_loop()->create_task(waiter(*p));
        co_await coven::sleep(0.1);
        p.reset();
        EXPECT_THROW(co_await w, coven::usage_error);
    };
    loop.run_until_complete(main());
}

TYPED_TEST(PermitPrimitive, TasksOfAnotherLoopMayNotWaitBesideThem) {
    auto p = make_primitive<TypeParam>();
    coven::event_loop first(virtual_options());
    coven::event_loop second(virtual_options());
    auto hold = [](TypeParam& p) -> task<void> {
        co_await p.acquire();
        co_await coven::sleep(1.0);
        p.release();
    };
    auto waiter = [](TypeParam& p) -> task<void> {
        co_await p.acquire();
        p.release();
    };
    auto f1 = first.create_task(hold(*p));
    auto f2 = first.create_task(waiter(*p));
    first.run_until_complete(sleep_for(0.5)); // f1 holds it, f2 waits
    EXPECT_THROW(second.run_until_complete(waiter(*p)), coven::usage_error);
    first.run_until_complete([](coven::future<void> f) -> task<void> { co_await f; }(f2));
}

TYPED_TEST(PermitPrimitive, AWaiterHandedThePermitAtLoopStopPassesItOnOrTakesIt) {
    for (const bool referenced : {false, true}) {
        SCOPED_TRACE(referenced ? "a future refers to the waiter" : "nothing refers to it");
        auto p = make_primitive<TypeParam>();
        coven::event never;
        {
            coven::event_loop loop(virtual_options());
            (void)loop.create_task(stubborn_holder(*p, never));
            auto waiter = loop.create_task(stubborn_acquire(*p));
            if (!referenced) {
                waiter = {};
            }
            loop.run_until_complete(sleep_for(1.0)); // the first holds it, the second waits
            // Both ignore cancellation: stop destroys the holder, whose guard hands the permit
            // to the waiter. Unreferenced, the waiter's frame goes first or next and must pass
            // it on; referenced, it runs first, takes the permit and ends. (A priority_lock's
            // holder is always referenced: the lock keeps a reference on it.)
            loop.stop();
            if (referenced) {
                EXPECT_TRUE(waiter.done());
                EXPECT_FALSE(waiter.cancelled());
            }
            EXPECT_EQ(loop.statistics().live_tasks, 0u);
        }
        EXPECT_EQ(p->statistics().waiting, 0u);
        if constexpr (std::is_base_of_v<coven::lock, TypeParam>) {
            EXPECT_FALSE(p->locked());
        } else if constexpr (std::is_base_of_v<coven::semaphore, TypeParam>) {
            EXPECT_EQ(p->available(), 1u);
        }
    }
}

TEST(PriorityLockAtLoopStop, AHolderThatIgnoresCancellationLetsTheLockGo) {
    // The lock keeps a reference on its holder, yet stop destroys the holder's frame: its guard
    // lets the lock go, and the lock drops its reference.
    coven::event never;
    coven::priority_lock p;
    coven::event_loop loop(virtual_options());
    (void)loop.create_task(stubborn_holder(p, never));
    loop.run_until_complete(sleep_for(1.0));
    EXPECT_TRUE(p.locked());
    loop.stop();
    EXPECT_FALSE(p.locked());
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
}
