// task_throw() and task_interrupt() (K26, K27): an exception thrown into a task at its await.
#include <coven/interrupt.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

struct reload : std::runtime_error {
    reload() : std::runtime_error("reload") {}
};

auto loop_of_test() -> coven::event_loop& {
    return *coven::current_loop();
}

/// No exception thrown in is left waiting in the loop's side table.
void expect_no_pending_interrupts(coven::event_loop& loop) {
    EXPECT_TRUE(coven::testing::inspect::pending_interrupts(loop) == 0);
}

template <class T>
auto await_future(future<T> f) -> task<T> {
    co_return co_await f;
}

} // namespace

TEST(Interrupt, TaskInterruptRaisesInABlockedTaskAndRunsItAtOnce) {
    // asynkit's example: once task_interrupt() returns, the error has been raised in the task.
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(sleep_for(1.0));
        co_await coven::sleep(0);
        EXPECT_TRUE(coven::task_interrupt(target));
        EXPECT_TRUE(target.done());
        EXPECT_TRUE(target.cancelled()); // interrupt_error is a cancelled_error
        EXPECT_THROW(target.result(), coven::cancelled_error);
        EXPECT_EQ(vtime(loop), 0.0);
    };
    loop.run_until_complete(main());
    expect_no_pending_interrupts(loop);
}

TEST(Interrupt, TaskThrowRaisesTheGivenExceptionWhenTheTargetNextRuns) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(sleep_then(5.0, 1));
        co_await coven::sleep(1.0);
        coven::task_throw(target, reload{});
        EXPECT_FALSE(target.done()); // runnable, not run yet
        EXPECT_THROW(co_await target, reload);
        EXPECT_FALSE(target.cancelled());
        EXPECT_EQ(vtime(loop), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, TheTargetMayCatchItAndGoOn) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto target_body = [](std::vector<std::string>& log) -> task<int> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::interrupt_error&) {
            log.emplace_back("interrupted");
        }
        co_await coven::sleep(1.0); // a fresh wait, not the one it was taken out of
        log.emplace_back("done");
        co_return 7;
    };
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(target_body(log));
        co_await coven::sleep(2.0);
        EXPECT_TRUE(coven::task_interrupt(target));
        EXPECT_EQ(log, std::vector<std::string>{"interrupted"});
        EXPECT_EQ(co_await target, 7);
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, ItDoesNotReachTheTaskTheTargetAwaits) {
    coven::event_loop loop(virtual_options());
    auto waiter_body = [](future<int> inner) -> task<int> { co_return co_await inner; };
    auto main = [&]() -> task<void> {
        auto inner = loop_of_test().create_task(sleep_then(5.0, 42));
        auto outer = loop_of_test().create_task(waiter_body(inner));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(coven::task_interrupt(outer));
        EXPECT_TRUE(outer.done());
        EXPECT_FALSE(inner.done()); // untouched: it runs on
        EXPECT_EQ(co_await inner, 42);
        EXPECT_EQ(vtime(loop), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, ATaskNotStartedYetEndsWithTheExceptionWithoutRunning) {
    coven::event_loop loop(virtual_options());
    bool ran = false;
    auto body = [](bool& ran) -> task<void> {
        ran = true;
        co_return;
    };
    auto main = [&]() -> task<void> {
        auto thrown = loop_of_test().create_task(body(ran));
        coven::task_throw(thrown, reload{});
        EXPECT_THROW(co_await thrown, reload);
        auto interrupted = loop_of_test().create_task(body(ran));
        EXPECT_TRUE(coven::task_interrupt(interrupted));
        EXPECT_TRUE(interrupted.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_FALSE(ran);
}

TEST(Interrupt, ALaterThrowReplacesAnEarlierOneNotRaisedYet) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(sleep_for(5.0));
        co_await coven::sleep(1.0);
        coven::task_throw(target, std::runtime_error("first"));
        coven::task_throw(target, reload{});
        EXPECT_THROW(co_await target, reload);
    };
    loop.run_until_complete(main());
    expect_no_pending_interrupts(loop);
}

TEST(Interrupt, APendingCancellationIsRaisedAtTheAwaitAfterIt) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto target_body = [](std::vector<std::string>& log) -> task<void> {
        try {
            co_await coven::sleep(10.0);
        } catch (const reload&) {
            log.emplace_back("reload");
        }
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            log.emplace_back("cancelled");
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(target_body(log));
        co_await coven::sleep(1.0);
        target.cancel();
        coven::task_throw(target, reload{});
        co_await target.wait();
        EXPECT_TRUE(target.cancelled());
        EXPECT_EQ(vtime(loop), 1.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"reload", "cancelled"}));
}

TEST(Interrupt, AShieldHoldsItBackUntilTheShieldedBlockIsLeft) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto target_body = [](std::vector<std::string>& log) -> task<void> {
        coven::cancel_scope shielded;
        shielded.set_shield(true);
        co_await shielded.run(sleep_for(3.0)); // cleanup that must finish
        log.emplace_back("shielded part done");
        co_await coven::sleep(10.0); // raises here
        log.emplace_back("not reached");
    };
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(target_body(log));
        co_await coven::sleep(1.0);
        EXPECT_FALSE(coven::task_interrupt(target)); // pending: held back
        EXPECT_FALSE(target.done());
        co_await target.wait();
        EXPECT_TRUE(target.cancelled());
        EXPECT_EQ(vtime(loop), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"shielded part done"});
}

TEST(Interrupt, ATaskThrowingIntoItselfRaisesAtItsNextAwait) {
    coven::event_loop loop(virtual_options());
    auto body = [](const future<std::string>* self) -> task<std::string> {
        coven::task_throw(*self, reload{});
        try {
            co_await coven::sleep(1.0);
        } catch (const reload&) {
            co_return "raised";
        }
        co_return "missed";
    };
    future<std::string> self;
    self = loop.create_task(body(&self)); // lazy: it runs once the loop does
    EXPECT_EQ(loop.run_until_complete(await_future(self)), "raised");
    EXPECT_EQ(vtime(loop), 0.0);
}

TEST(Interrupt, OneStillPendingWhenTheTaskEndsIsDropped) {
    coven::event_loop loop(virtual_options());
    auto body = [](const future<int>* self) -> task<int> {
        coven::task_throw(*self, reload{});
        co_return 5; // ends without another await
    };
    future<int> self;
    self = loop.create_task(body(&self));
    EXPECT_EQ(loop.run_until_complete(await_future(self)), 5);
    expect_no_pending_interrupts(loop);
}

TEST(Interrupt, ATaskWaitingForAScopeRaisesItAfterTheChildrenWereCancelled) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto owner = [](std::vector<std::string>& log) -> task<void> {
        try {
            co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<> {
                scope.spawn(sleep_with_slow_cleanup(10.0, 2.0, log));
                co_return;
            });
        } catch (const reload&) {
            log.emplace_back("reload");
        }
    };
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(owner(log));
        co_await coven::sleep(1.0);
        coven::task_interrupt(target, reload{});
        co_await target;
        EXPECT_EQ(vtime(loop), 3.0); // the child's cleanup ran first
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"cleanup done", "reload"}));
}

TEST(Interrupt, MisuseIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto body = [](const future<void>* self) -> task<void> {
        EXPECT_THROW(coven::task_interrupt(*self), coven::usage_error);
        auto ended = loop_of_test().create_task(sleep_for(0.0));
        co_await ended;
        EXPECT_THROW(coven::task_throw(ended, reload{}), coven::usage_error);
        auto target = loop_of_test().create_task(sleep_for(1.0));
        EXPECT_THROW(coven::task_throw(target, std::exception_ptr()), coven::usage_error);
        co_await target;
    };
    future<void> self;
    self = loop.create_task(body(&self));
    loop.run_until_complete(await_future(self));
}

TEST(Interrupt, FromAnotherThreadIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(sleep_for(1.0));
        bool refused = false;
        std::thread other([&] {
            try {
                coven::task_throw(target, reload{});
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        co_await target;
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, ACaughtNonCancellationLeavesAScopesOwnCancellationToTheScope) {
    // A reload caught inside a move_on_after() block must not make the block's later deadline
    // look like an outer cancellation.
    coven::event_loop loop(virtual_options());
    auto target_body = []() -> task<bool> {
        co_return co_await coven::move_on_after(5.0, []() -> task<void> {
            try {
                co_await coven::sleep(10.0);
            } catch (const reload&) {
            }
            co_await coven::sleep(10.0); // cut by the deadline at 5.0
        }());
    };
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(target_body());
        co_await coven::sleep(1.0);
        EXPECT_TRUE(coven::task_interrupt(target, reload{}));
        EXPECT_FALSE(co_await target); // the scope caught its own cancellation
        EXPECT_EQ(vtime(loop), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, ATargetThatDropsItsLastFutureDuringTheInterruptIsNotTouchedAfterwards) {
    coven::event_loop loop(virtual_options());
    std::optional<future<void>> slot;
    auto target_body = [](std::optional<future<void>>* slot) -> task<void> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::interrupt_error&) {
            slot->reset(); // the only handle goes: the frame ends with this turn
        }
    };
    auto main = [&]() -> task<void> {
        slot = loop_of_test().create_task(target_body(&slot));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(coven::task_interrupt(*slot));
        EXPECT_FALSE(slot.has_value());
    };
    loop.run_until_complete(main());
}

TEST(Interrupt, TaskInterruptSaysFalseWhenAQueuedTargetEndsBeforeItsNextAwait) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto target = loop_of_test().create_task(sleep_for(1.0)); // armed after ours
        co_await coven::sleep(1.0);
        // The target's timer fired too: it is queued, its sleep over, and it returns next.
        EXPECT_FALSE(coven::task_interrupt(target));
        EXPECT_TRUE(target.done());
        EXPECT_FALSE(target.cancelled()); // it returned: the interrupt was dropped
    };
    loop.run_until_complete(main());
    expect_no_pending_interrupts(loop);
}

TEST(Interrupt, AWaiterThatLeftDoesNotKeepTheAwaitedChildsFailureFromBubbling) {
    coven::event_loop loop(virtual_options());
    auto failing = []() -> task<void> {
        co_await coven::sleep(2.0);
        throw std::runtime_error("child failed");
    };
    auto awaits = [](future<void> other) -> task<void> {
        try {
            co_await other;
        } catch (const reload&) {
        }
    };
    auto main = [&]() -> task<void> {
        auto body = [&](coven::task_scope& scope) -> task<> {
            auto child = scope.spawn(failing());
            auto waiter = scope.spawn(awaits(child));
            co_await coven::sleep(1.0);
            coven::task_interrupt(waiter, reload{});
        };
        EXPECT_THROW(co_await coven::with_scope({}, body), std::runtime_error);
    };
    loop.run_until_complete(main());
}
