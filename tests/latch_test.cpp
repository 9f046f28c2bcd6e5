// coven::latch: counting down to zero wakes every waiter, cancellation, misuse, destruction.
#include <coven/latch.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

/// Waits for `l` to open, logs `what` (or "<what> cancelled" and rethrows).
auto say_when_open(coven::latch& l, std::string what, std::vector<std::string>& log) -> task<void> {
    try {
        co_await l.wait();
        log.push_back(what);
    } catch (const coven::cancelled_error&) {
        log.push_back(what + " cancelled");
        throw;
    }
}

struct reload : std::runtime_error {
    reload() : std::runtime_error("reload") {}
};

/// Waits for `l` to open and logs `what`, then awaits once more (sleep(0)) and logs how that
/// ended: "<what> next ran", "<what> next cancelled" or "<what> next interrupted".
auto wait_then_await_again(coven::latch& l, std::string what, std::vector<std::string>& log)
    -> task<void> {
    co_await l.wait();
    log.push_back(what);
    try {
        co_await coven::sleep(0);
        log.push_back(what + " next ran");
    } catch (const coven::cancelled_error&) {
        log.push_back(what + " next cancelled");
    } catch (const reload&) {
        log.push_back(what + " next interrupted");
    }
}

/// Sleeps `seconds`, counts `l` down once, logs `what`.
auto count_down_after(coven::latch& l, double seconds, std::string what,
                      std::vector<std::string>& log) -> task<void> {
    co_await coven::sleep(seconds);
    l.count_down();
    log.push_back(what);
}

/// Sleeps `seconds`, then arrive_and_wait(); logs `what` with the time it went on.
auto arrive_after(coven::latch& l, double seconds, std::string what, std::vector<std::string>& log)
    -> task<void> {
    co_await coven::sleep(seconds);
    co_await l.arrive_and_wait();
    log.push_back(what + "@" + std::to_string(static_cast<int>(coven::current_loop()->time())));
}

} // namespace

TEST(Latch, ReachingZeroWakesEveryWaiterInTheOrderTheyCame) {
    coven::event_loop loop(virtual_options());
    coven::latch l(3);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 4; ++i) {
            fs.push_back(lp->create_task(say_when_open(l, std::to_string(i), log)));
        }
        for (int i = 1; i <= 3; ++i) {
            fs.push_back(lp->create_task(count_down_after(l, i, "down" + std::to_string(i), log)));
        }
        co_await coven::sleep(0.5);
        EXPECT_EQ(l.statistics().waiting, 4u);
        for (auto& f : fs) {
            co_await f;
        }
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"down1", "down2", "down3", "0", "1", "2", "3"}));
    EXPECT_EQ(l.count(), 0);
    EXPECT_TRUE(l.try_wait());
    EXPECT_EQ(l.statistics().parked, 4u);
    EXPECT_EQ(l.statistics().released, 4u);
    EXPECT_EQ(l.statistics().waiting, 0u);
}

TEST(Latch, AnOpenLatchLetsWaitsThroughAtOnce) {
    coven::event_loop loop(virtual_options());
    coven::latch zero(0);
    coven::latch one(1);
    auto main = [&]() -> task<void> {
        EXPECT_TRUE(zero.try_wait());
        co_await zero.wait();
        EXPECT_FALSE(one.try_wait());
        co_await one.arrive_and_wait(); // the last arrival does not wait
        co_await one.wait();
        EXPECT_EQ(vtime(loop), 0.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(one.statistics().parked, 0u);
}

TEST(Latch, ArriveAndWaitReleasesEveryoneWhenTheLastArrives) {
    coven::event_loop loop(virtual_options());
    coven::latch l(3);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(arrive_after(l, 1.0, "a", log));
        auto b = lp->create_task(arrive_after(l, 3.0, "b", log));
        auto c = lp->create_task(arrive_after(l, 2.0, "c", log));
        co_await a;
        co_await b;
        co_await c;
    };
    loop.run_until_complete(main());
    // b arrives last and goes on at once; a and c were woken then, in the order they came.
    EXPECT_EQ(log, (std::vector<std::string>{"b@3", "a@3", "c@3"}));
}

TEST(Latch, ArriveAndWaitCanCountDownSeveralAtOnce) {
    coven::event_loop loop(virtual_options());
    coven::latch l(5);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(say_when_open(l, "w", log));
        co_await coven::sleep(1.0);
        l.count_down(2);
        EXPECT_EQ(l.count(), 3);
        co_await l.arrive_and_wait(3);
        co_await w;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"w"});
}

TEST(Latch, ACancelledWaiterLeavesAndTheOthersStillWake) {
    coven::event_loop loop(virtual_options());
    coven::latch l(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(say_when_open(l, "a", log));
        auto b = lp->create_task(say_when_open(l, "b", log));
        auto c = lp->create_task(say_when_open(l, "c", log));
        co_await coven::sleep(1.0);
        b.cancel();
        co_await coven::sleep(0);
        EXPECT_EQ(l.statistics().waiting, 2u);
        l.count_down();
        co_await a;
        co_await c;
        EXPECT_TRUE(b.cancelled());
        co_await l.wait(); // still open
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"b cancelled", "a", "c"}));
    EXPECT_EQ(l.statistics().released, 2u);
}

TEST(Latch, AWaiterCancelledAfterItWasReleasedReturnsAndItsNextAwaitRaises) {
    coven::event_loop loop(virtual_options());
    coven::latch l(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto a = lp->create_task(wait_then_await_again(l, "a", log));
        auto c = lp->create_task(wait_then_await_again(l, "c", log));
        co_await coven::sleep(1.0);
        l.count_down();
        c.cancel(); // released, not run yet: its wait is over; the cancellation stays pending
        co_await a;
        co_await c.wait();
        EXPECT_FALSE(c.cancelled()); // it caught the cancellation at its next await
        co_await l.wait();           // still open
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a", "c", "c next cancelled", "a next ran"}));
    EXPECT_EQ(l.statistics().released, 2u);
}

TEST(Latch, AWaiterInterruptedAfterItWasReleasedReturnsAndItsNextAwaitRaises) {
    coven::event_loop loop(virtual_options());
    coven::latch l(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto c = coven::current_loop()->create_task(wait_then_await_again(l, "c", log));
        co_await coven::sleep(1.0);
        l.count_down();
        coven::task_throw(c, reload{}); // released, not run yet: raised at its next await
        co_await c;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"c", "c next interrupted"}));
}

TEST(Latch, ACancelledArriveAndWaitKeepsItsCountDown) {
    coven::event_loop loop(virtual_options());
    coven::latch l(2);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto a = coven::current_loop()->create_task(arrive_after(l, 0.0, "a", log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(l.count(), 1);
        a.cancel();
        co_await a.wait();
        EXPECT_TRUE(a.cancelled());
        EXPECT_EQ(l.count(), 1); // the arrival happened; only the wait was given up
        co_await l.arrive_and_wait();
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty());
}

TEST(Latch, AWaitWithACancelPendingRaisesWithoutQueueing) {
    coven::event_loop loop(virtual_options());
    coven::latch l(1);
    auto main = [&]() -> task<void> {
        coven::cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run([&]() -> task<void> { co_await l.wait(); }()));
        EXPECT_EQ(l.statistics().waiting, 0u);
        EXPECT_EQ(l.statistics().parked, 0u);
        l.count_down();
    };
    loop.run_until_complete(main());
}

TEST(Latch, CountDownMisuseThrowsAndCountsNothing) {
    coven::event_loop loop(virtual_options());
    EXPECT_THROW(coven::latch(-1), coven::usage_error);
    coven::latch l(2);
    EXPECT_THROW(l.count_down(-1), coven::usage_error);
    EXPECT_THROW(l.count_down(3), coven::usage_error);
    EXPECT_EQ(l.count(), 2);
    l.count_down(0);
    EXPECT_EQ(l.count(), 2);
    l.count_down(2);
    EXPECT_THROW(l.count_down(), coven::usage_error);
    l.count_down(0); // zero more is fine at zero
    EXPECT_EQ(l.count(), 0);
    coven::latch m(1);
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await m.arrive_and_wait(2), coven::usage_error);
        EXPECT_EQ(m.count(), 1);
        co_await m.arrive_and_wait();
    };
    loop.run_until_complete(main());
}

TEST(Latch, TheMessageSaysWhatWasWrongAndWhatToDo) {
    try {
        coven::latch l(-3);
        ADD_FAILURE() << "no exception";
    } catch (const coven::usage_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("negative"), std::string::npos) << msg;
        EXPECT_NE(msg.find("0 or more"), std::string::npos) << msg;
    }
}

TEST(Latch, DestroyedWhileATaskWaitsTheWaitRaisesUsageError) {
    coven::event_loop loop(virtual_options());
    auto l = std::make_unique<coven::latch>(1);
    auto waiter = [](coven::latch& l) -> task<void> { co_await l.wait(); };
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(waiter(*l));
        co_await coven::sleep(0.1);
        l.reset();
        EXPECT_THROW(co_await w, coven::usage_error);
    };
    loop.run_until_complete(main());
}

TEST(Latch, DestroyedAfterItOpenedButBeforeAWaiterRanTheWaitReturns) {
    coven::event_loop loop(virtual_options());
    auto l = std::make_unique<coven::latch>(1);
    auto waiter = [](coven::latch& l) -> task<int> {
        co_await l.wait();
        co_return 7;
    };
    auto main = [&]() -> task<void> {
        auto* lp = coven::current_loop();
        auto w = lp->create_task(waiter(*l));
        auto c = lp->create_task(waiter(*l));
        co_await coven::sleep(0.1);
        l->count_down(); // w and c are released...
        c.cancel();      // (c's cancellation stays pending: it has no further await)
        l.reset();       // ...and the latch goes before they run: their waits still return
        EXPECT_EQ(co_await w, 7);
        EXPECT_EQ(co_await c, 7);
    };
    loop.run_until_complete(main());
}

TEST(Latch, CountDownFromAnotherThreadOnceATaskUsedItIsAUsageErrorEvenAboveZero) {
    coven::event_loop loop(virtual_options());
    coven::latch l(3);
    auto main = [&]() -> task<void> {
        l.count_down(); // a task of this loop used it: it belongs to this loop now
        int refused = 0;
        std::thread other([&] {
            for (int n : {1, 2}) { // 1 leaves it above zero, 2 would open it
                try {
                    l.count_down(n);
                } catch (const coven::usage_error&) {
                    ++refused;
                }
            }
        });
        other.join();
        EXPECT_EQ(refused, 2);
        EXPECT_EQ(l.count(), 2); // nothing was counted
        co_await l.arrive_and_wait(2);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(l.count(), 0);
}

TEST(Latch, CountDownFromAnotherThreadWhileTasksWaitIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::latch l(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(say_when_open(l, "w", log));
        co_await coven::sleep(1.0);
        bool refused = false;
        std::thread other([&] {
            try {
                l.count_down();
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        EXPECT_EQ(l.count(), 1); // nothing was counted
        l.count_down();
        co_await w;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"w"});
}
