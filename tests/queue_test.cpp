// coven::queue<T>: FIFO, bounded waits, close(), cancellation without losing values.
#include <coven/queue.hpp>

#include "test_util.hpp"

#include <coven/event.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {
auto logged_get(coven::queue<int>& q, std::string name, std::vector<std::string>& log)
    -> task<int> {
    try {
        int v = co_await q.get();
        log.push_back(name + " got " + std::to_string(v));
        co_return v;
    } catch (const coven::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    } catch (const coven::queue_closed&) {
        log.push_back(name + " closed");
        throw;
    }
}
/// Binds `q` to the running loop with a try_get() that finds it empty.
auto putter(coven::queue<int>& q, int v) -> task<void> {
    co_await q.put(v);
}

auto get_or_nothing(coven::queue<int>& q) -> task<void> {
    EXPECT_FALSE(q.try_get().has_value());
    co_return;
}
} // namespace

TEST(Queue, ValuesComeOutInTheOrderTheyWentIn) {
    coven::event_loop loop(virtual_options());
    coven::queue<std::string> q;
    auto main = [&]() -> task<void> {
        co_await q.put("a");
        co_await q.put("b");
        EXPECT_EQ(q.size(), 2u);
        EXPECT_EQ(co_await q.get(), "a");
        EXPECT_EQ(co_await q.get(), "b");
        EXPECT_TRUE(q.empty());
    };
    loop.run_until_complete(main());
}

TEST(Queue, AGetWaitsForAPutAndTheValueGoesStraightToIt) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto g = coven::current_loop()->create_task(logged_get(q, "g", log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(q.statistics().getters_waiting, 1u);
        co_await q.put(7);
        EXPECT_TRUE(q.empty()); // handed over, never queued
        EXPECT_EQ(co_await g, 7);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"g got 7"});
}

TEST(Queue, APutWaitsWhileItIsFullAndKeepsTheOrder) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(2);
    auto producer = [](coven::queue<int>& q) -> task<void> {
        for (int i = 0; i < 5; ++i) {
            co_await q.put(i);
        }
    };
    auto main = [&]() -> task<void> {
        auto p = coven::current_loop()->create_task(producer(q));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(q.full());
        EXPECT_EQ(q.statistics().putters_waiting, 1u);
        EXPECT_FALSE(q.try_put(99));
        std::vector<int> got;
        for (int i = 0; i < 5; ++i) {
            got.push_back(co_await q.get());
        }
        co_await p;
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
    };
    loop.run_until_complete(main());
}

TEST(Queue, ManyValuesThroughASmallQueueArriveInOrder) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(8);
    auto producer = [](coven::queue<int>& q) -> task<void> {
        for (int i = 0; i < 10000; ++i) {
            co_await q.put(i);
        }
        q.close();
    };
    auto main = [&]() -> task<void> {
        auto p = coven::current_loop()->create_task(producer(q));
        int expected = 0;
        bool in_order = true;
        for (;;) {
            try {
                int v = co_await q.get();
                in_order = in_order && v == expected;
                ++expected;
            } catch (const coven::queue_closed&) {
                break;
            }
        }
        EXPECT_TRUE(in_order);
        EXPECT_EQ(expected, 10000);
        co_await p;
        EXPECT_EQ(q.statistics().puts, 10000u);
        EXPECT_EQ(q.statistics().gets, 10000u);
    };
    loop.run_until_complete(main());
}

TEST(Queue, CloseLetsTheRestBeTakenThenGetAndPutRaiseQueueClosed) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(1);
    std::vector<std::string> log;
    auto blocked_put = [](coven::queue<int>& q) -> task<void> { co_await q.put(2); };
    auto main = [&]() -> task<void> {
        co_await q.put(1);
        auto p = coven::current_loop()->create_task(blocked_put(q));
        co_await coven::sleep(1.0);
        q.close();
        EXPECT_THROW(co_await p, coven::queue_closed); // its value was never taken
        EXPECT_THROW(co_await q.put(3), coven::queue_closed);
        EXPECT_THROW((void)q.try_put(3), coven::queue_closed);
        EXPECT_EQ(co_await q.get(), 1); // what was in it still comes out
        EXPECT_THROW(co_await q.get(), coven::queue_closed);
        EXPECT_EQ(q.try_get(), std::nullopt);
    };
    loop.run_until_complete(main());

    coven::queue<int> q2;
    auto main2 = [&]() -> task<void> {
        auto g = coven::current_loop()->create_task(logged_get(q2, "g", log));
        co_await coven::sleep(1.0);
        q2.close();
        EXPECT_THROW(co_await g, coven::queue_closed);
    };
    loop.run_until_complete(main2());
    EXPECT_EQ(log, std::vector<std::string>{"g closed"});
}

TEST(Queue, ACancelledGetterLeavesAndOneHandedAValueGivesItBack) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto a = l->create_task(logged_get(q, "a", log));
        auto b = l->create_task(logged_get(q, "b", log));
        auto c = l->create_task(logged_get(q, "c", log));
        co_await coven::sleep(1.0);
        a.cancel(); // while waiting: leaves
        co_await coven::sleep(1.0);
        co_await q.put(10); // handed to b...
        b.cancel();         // ...cancelled before it ran: 10 goes on to c
        EXPECT_EQ(co_await c, 10);
        co_await a.wait();
        co_await b.wait();
        EXPECT_TRUE(q.empty());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"a cancelled", "b cancelled", "c got 10"}));
}

TEST(Queue, AValueGivenBackWithNoGetterWaitingGoesToTheFront) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto b = coven::current_loop()->create_task(logged_get(q, "b", log));
        co_await coven::sleep(1.0);
        co_await q.put(1); // handed to b
        co_await q.put(2); // queued behind
        b.cancel();        // b gives 1 back: it comes out first
        co_await b.wait();
        EXPECT_EQ(co_await q.get(), 1);
        EXPECT_EQ(co_await q.get(), 2);
    };
    loop.run_until_complete(main());
}

TEST(Queue, ACancelledPutterPutsNothingAndOneWhoseValueWasTakenIsDone) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(1);
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        co_await q.put(0);
        auto a = l->create_task(putter(q, 1));
        auto b = l->create_task(putter(q, 2));
        co_await coven::sleep(1.0);
        a.cancel(); // while waiting: its value is not put
        co_await a.wait();
        EXPECT_TRUE(a.cancelled());
        EXPECT_EQ(co_await q.get(), 0); // room: b's value moves in, b is done
        b.cancel();                     // too late to undo the put
        co_await b.wait();
        EXPECT_FALSE(b.cancelled());
        EXPECT_EQ(co_await q.get(), 2);
        EXPECT_TRUE(q.empty());
    };
    loop.run_until_complete(main());
}

TEST(Queue, TryFormsNeverWait) {
    coven::event_loop loop(virtual_options());
    coven::queue<std::unique_ptr<int>> q(1);
    auto main = [&]() -> task<void> {
        EXPECT_FALSE(q.try_get().has_value());
        EXPECT_TRUE(q.try_put(std::make_unique<int>(5)));
        EXPECT_FALSE(q.try_put(std::make_unique<int>(6)));
        auto v = q.try_get();
        EXPECT_TRUE(v.has_value() && **v == 5);
        co_return;
    };
    loop.run_until_complete(main());
}

TEST(Queue, AValueGivenBackNeverTakesABoundedQueueOverItsCapacity) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto b = l->create_task(logged_get(q, "b", log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(q.try_put(1)); // handed to b, which has not run: it holds the one place
        EXPECT_TRUE(q.full());
        EXPECT_FALSE(q.try_put(2));
        auto p = l->create_task(putter(q, 2)); // runs after b: waits for room
        b.cancel(); // before it ran: b gives 1 back, to the place it held
        co_await b.wait();
        EXPECT_EQ(q.size(), 1u);
        EXPECT_EQ(q.statistics().putters_waiting, 1u);
        EXPECT_LE(q.size(), q.capacity());
        EXPECT_EQ(co_await q.get(), 1); // room: p's value moves in
        co_await p;
        EXPECT_EQ(co_await q.get(), 2);
        EXPECT_TRUE(q.empty());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"b cancelled"});
}

TEST(Queue, AHandedValueTakenLetsAWaitingPutterIn) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q(1);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto b = l->create_task(logged_get(q, "b", log));
        auto c = l->create_task(logged_get(q, "c", log));
        co_await coven::sleep(1.0);
        auto p1 = l->create_task(putter(q, 1)); // handed to b
        auto p2 = l->create_task(putter(q, 2)); // waits: b's value holds the place
        co_await p1;
        co_await b; // b took 1: p2's value goes to c
        co_await p2;
        co_await c;
        EXPECT_TRUE(q.empty());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"b got 1", "c got 2"}));
}

TEST(Queue, GettersAndPuttersOfAnotherLoopAreRefused) {
    coven::queue<int> q;
    coven::event_loop first(virtual_options());
    coven::event_loop second(virtual_options());
    first.run_until_complete([](coven::queue<int>& q) -> task<void> { // binds q to `first`
        co_await q.put(1);
    }(q));
    auto try_get = [](coven::queue<int>& q) -> task<void> {
        (void)q.try_get();
        co_return;
    };
    auto get = [](coven::queue<int>& q) -> task<void> { (void)co_await q.get(); };
    // (get() first: if it were let through, it would find the value and not wait forever)
    EXPECT_THROW(second.run_until_complete(get(q)), coven::usage_error);
    EXPECT_THROW(second.run_until_complete(try_get(q)), coven::usage_error);
    EXPECT_EQ(q.size(), 1u); // nothing taken
    coven::queue<int> r;
    first.run_until_complete(get_or_nothing(r));
    auto try_put = [](coven::queue<int>& q) -> task<void> {
        (void)q.try_put(2);
        co_return;
    };
    EXPECT_THROW(second.run_until_complete(try_put(r)), coven::usage_error);
    EXPECT_TRUE(r.empty());
}

TEST(Queue, AValueHandedToAGetterThatLoopStopDestroysGoesBack) {
    coven::queue<int> q;
    coven::event never;
    struct put_on_exit { // (a destructor cannot await: try_put() it is)
        coven::queue<int>& q;
        ~put_on_exit() { EXPECT_TRUE(q.try_put(7)); }
    };
    auto stubborn_putter = [](coven::queue<int>& q, coven::event& never) -> task<void> {
        put_on_exit on_exit{q};
        for (;;) {
            try {
                co_await never.wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    auto stubborn_getter = [](coven::queue<int>& q) -> task<void> {
        for (;;) {
            try {
                (void)co_await q.get();
                co_return;
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    {
        coven::event_loop loop(virtual_options());
        (void)loop.create_task(stubborn_putter(q, never));
        (void)loop.create_task(stubborn_getter(q));
        loop.run_until_complete(sleep_for(1.0));
        // Both ignore cancellation: stop destroys their frames, the putter's first. Its 7 goes
        // to the waiting getter, whose frame goes next: the 7 must not go with it.
        loop.stop();
    }
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.statistics().getters_waiting, 0u);
    q.close();
    EXPECT_EQ(q.try_get(), std::optional<int>(7));
}

TEST(Queue, MisuseIsAUsageError) {
    EXPECT_THROW(coven::queue<int>(0), coven::usage_error);
    coven::queue<int> q;
    coven::event_loop first(virtual_options());
    coven::event_loop second(virtual_options());
    auto put_one = [](coven::queue<int>& q) -> task<void> { co_await q.put(1); };
    first.run_until_complete(put_one(q));
    EXPECT_THROW(second.run_until_complete(put_one(q)), coven::usage_error);
}

TEST(Queue, AValueOnItsWayToACancelledGetterIsStillThereAfterClose) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto g1 = l->create_task(logged_get(q, "g1", log));
        auto g2 = l->create_task(logged_get(q, "g2", log));
        co_await coven::sleep(1.0);
        co_await q.put(5); // handed to g1, which has not run yet
        q.close();         // g2 must not be told "closed": 5 is not taken yet
        g1.cancel();       // g1 gives 5 back: g2 gets it
        EXPECT_EQ(co_await g2, 5);
        co_await g1.wait();
        EXPECT_THROW(co_await q.get(), coven::queue_closed); // now it is drained
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"g1 cancelled", "g2 got 5"}));
}

TEST(Queue, AGivenBackValueComesOutFirstAndTheHandOffNeverQueuedIt) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto b = coven::current_loop()->create_task(logged_get(q, "b", log));
        co_await coven::sleep(1.0);
        co_await q.put(1);
        EXPECT_EQ(q.size(), 0u); // handed to b directly
        co_await q.put(2);
        EXPECT_EQ(q.size(), 1u);
        b.cancel(); // b gives 1 back, to the front
        co_await b.wait();
        EXPECT_EQ(q.size(), 2u);
        EXPECT_EQ(co_await q.get(), 1);
        EXPECT_EQ(co_await q.get(), 2);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"b cancelled"});
}

TEST(Queue, APutWhoseValueWasTakenIsDoneEvenIfTheQueueGoesFirst) {
    coven::event_loop loop(virtual_options());
    auto q = std::make_unique<coven::queue<int>>(1);
    auto putter = [](coven::queue<int>& q) -> task<void> { co_await q.put(2); };
    auto main = [&]() -> task<void> {
        co_await q->put(1);
        auto p = coven::current_loop()->create_task(putter(*q));
        co_await coven::sleep(1.0);
        EXPECT_EQ(co_await q->get(), 1); // room: 2 moves in, p is done...
        q.reset();                       // ...and the queue goes before p runs
        co_await p;                      // no error: its put happened
    };
    loop.run_until_complete(main());
}

TEST(Queue, TheRingGrowsCorrectlyAfterItHasWrapped) {
    coven::event_loop loop(virtual_options());
    coven::queue<int> q;
    auto main = [&]() -> task<void> {
        int next_in = 0;
        int next_out = 0;
        bool in_order = true;
        for (int i = 0; i < 10; ++i) { // wrap the 16-slot ring: head moves on
            co_await q.put(next_in++);
            in_order = in_order && co_await q.get() == next_out++;
        }
        for (int i = 0; i < 100; ++i) { // then grow it several times while wrapped
            co_await q.put(next_in++);
        }
        while (!q.empty()) {
            in_order = in_order && co_await q.get() == next_out++;
        }
        EXPECT_TRUE(in_order);
        EXPECT_EQ(next_out, next_in);
    };
    loop.run_until_complete(main());
}

TEST(Queue, TryPutLeavesAMoveOnlyValueWhenFullAndAGetAwaiterCanBeAwaitedAgain) {
    coven::event_loop loop(virtual_options());
    coven::queue<std::unique_ptr<int>> q(1);
    auto main = [&]() -> task<void> {
        EXPECT_TRUE(q.try_put(std::make_unique<int>(1)));
        auto v = std::make_unique<int>(2);
        EXPECT_FALSE(q.try_put(std::move(v)));
        EXPECT_NE(v, nullptr); // still ours
        auto getter = q.get();
        EXPECT_EQ(*co_await getter, 1);
        EXPECT_TRUE(q.try_put(std::move(v)));
        EXPECT_EQ(*co_await getter, 2); // the same awaiter, afresh
        q.close();
        EXPECT_THROW(co_await getter, coven::queue_closed);
        auto putter = q.put(std::make_unique<int>(3));
        EXPECT_THROW(co_await putter, coven::queue_closed);
    };
    loop.run_until_complete(main());
}
