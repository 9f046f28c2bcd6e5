// The primitive cancellation matrix (TESTING.md #2) over every primitive a task can wait in:
// lock, semaphore, scarlet_lock, priority_lock, condition, priority_condition, a queue's get()
// and put(), event, latch and barrier. One typed suite: cancel a waiter before it is chosen, and
// after it is chosen but before it runs; exact FIFO; seeded cancels at every moment, with
// nothing lost and nobody woken twice. (Exclusion and a cancel while holding are in
// sync_primitives_test.cpp, for the primitives that hand out permits.)
//
// An adapter says how a primitive is waited on, how the test lets the first waiter through, how
// a waiter that got through hands on to the next one, and what a waiter that was chosen and then
// cancelled before it ran does:
//   passes_on  what it was given goes to the next waiter, and its wait raises (permits, a
//              notification, a queued value);
//   raises     its wait raises and there is nothing to pass on (event: everyone was woken);
//   succeeds   its wait is over and returns; the cancellation stays pending for its next await
//              (latch, barrier, a put whose value was taken).
#include <coven/barrier.hpp>
#include <coven/condition.hpp>
#include <coven/event.hpp>
#include <coven/latch.hpp>
#include <coven/lock.hpp>
#include <coven/priority_condition.hpp>
#include <coven/priority_lock.hpp>
#include <coven/queue.hpp>
#include <coven/semaphore.hpp>
#include <coven/timeout.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

enum class after_chosen { passes_on, raises, succeeds };

/// lock, priority_lock, semaphore(1), scarlet_lock(1): the test's task holds the permit first.
template <class P>
struct permit_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::passes_on;
    struct state {
        explicit state(int /*waiters*/) {}
        P p = make();
        static auto make() -> P {
            if constexpr (std::is_default_constructible_v<P>) {
                return P();
            } else {
                return P(1);
            }
        }
    };
    static auto prime(state& s) -> task<void> { co_await s.p.acquire(); }
    static auto wait(state& s) -> task<void> { co_await s.p.acquire(); }
    static void release_first(state& s) { s.p.release(); }
    static void pass_on(state& s) { s.p.release(); }
    static auto waiting(const state& s) -> std::size_t { return s.p.statistics().waiting; }
    static void expect_intact(state& s) { // (from a task: a lock records its owner)
        EXPECT_TRUE(s.p.try_acquire());
        s.p.release();
    }
};

/// condition, priority_condition: each waiter takes the lock and waits; notify_one() chooses.
template <class C>
struct condition_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::passes_on;
    struct state {
        explicit state(int /*waiters*/) {}
        coven::lock l;
        C c;
    };
    static auto prime(state& /*s*/) -> task<void> { co_return; }
    static auto wait(state& s) -> task<void> {
        auto held = co_await s.l.scoped();
        co_await s.c.wait(s.l);
    }
    static void release_first(state& s) { s.c.notify_one(); }
    static void pass_on(state& s) { s.c.notify_one(); }
    static auto waiting(const state& s) -> std::size_t { return s.c.statistics().waiting; }
    static void expect_intact(state& s) {
        EXPECT_EQ(s.c.statistics().waiting, 0u);
        EXPECT_FALSE(s.l.locked());
    }
};

/// queue::get(): a value put is handed to the first getter, which puts one back for the next.
struct queue_get_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::passes_on;
    struct state {
        explicit state(int /*waiters*/) {}
        coven::queue<int> q;
    };
    static auto prime(state& /*s*/) -> task<void> { co_return; }
    static auto wait(state& s) -> task<void> { EXPECT_EQ(co_await s.q.get(), 7); }
    static void release_first(state& s) { EXPECT_TRUE(s.q.try_put(7)); }
    static void pass_on(state& s) { EXPECT_TRUE(s.q.try_put(7)); }
    static auto waiting(const state& s) -> std::size_t { return s.q.statistics().getters_waiting; }
    static void expect_intact(state& s) { // the one value went round: not lost, not doubled
        EXPECT_EQ(s.q.size(), 1u);
        EXPECT_EQ(s.q.try_get(), 7);
    }
};

/// queue::put() on a full queue of capacity 1: taking the value in it admits the first putter's,
/// and each putter, once through, takes its own value out to admit the next.
struct queue_put_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::succeeds;
    struct state {
        explicit state(int /*waiters*/) {}
        coven::queue<int> q{1};
    };
    static auto prime(state& s) -> task<void> {
        EXPECT_TRUE(s.q.try_put(0));
        co_return;
    }
    static auto wait(state& s) -> task<void> { co_await s.q.put(1); }
    static void release_first(state& s) { EXPECT_EQ(s.q.try_get(), 0); }
    static void pass_on(state& s) { EXPECT_EQ(s.q.try_get(), 1); }
    static auto waiting(const state& s) -> std::size_t { return s.q.statistics().putters_waiting; }
    static void expect_intact(state& s) {
        EXPECT_TRUE(s.q.empty());
        EXPECT_EQ(s.q.statistics().putters_waiting, 0u);
    }
};

struct event_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::raises;
    struct state {
        explicit state(int /*waiters*/) {}
        coven::event e;
    };
    static auto prime(state& /*s*/) -> task<void> { co_return; }
    static auto wait(state& s) -> task<void> { co_await s.e.wait(); }
    static void release_first(state& s) { s.e.set(); }
    static void pass_on(state& /*s*/) {}
    static auto waiting(const state& s) -> std::size_t { return s.e.statistics().waiting; }
    static void expect_intact(state& s) {
        EXPECT_TRUE(s.e.is_set());
        EXPECT_EQ(s.e.statistics().waiting, 0u);
    }
};

struct latch_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::succeeds;
    struct state {
        explicit state(int /*waiters*/) {}
        coven::latch l{1};
    };
    static auto prime(state& /*s*/) -> task<void> { co_return; }
    static auto wait(state& s) -> task<void> { co_await s.l.wait(); }
    static void release_first(state& s) { s.l.count_down(); }
    static void pass_on(state& /*s*/) {}
    static auto waiting(const state& s) -> std::size_t { return s.l.statistics().waiting; }
    static void expect_intact(state& s) {
        EXPECT_EQ(s.l.count(), 0);
        EXPECT_EQ(s.l.statistics().waiting, 0u);
    }
};

/// A barrier for every waiter and the test's task, which completes the phase by dropping out
/// (once per arrival still missing: a cancelled waiter withdraws its arrival).
struct barrier_waits {
    static constexpr after_chosen cancelled_after_chosen = after_chosen::succeeds;
    struct state {
        explicit state(int waiters) : b(waiters + 1) {}
        coven::barrier b;
    };
    static auto prime(state& /*s*/) -> task<void> { co_return; }
    static auto wait(state& s) -> task<void> { EXPECT_EQ(co_await s.b.arrive_and_wait(), 0u); }
    static void release_first(state& s) {
        const std::uint64_t phase = s.b.phase();
        while (s.b.phase() == phase) {
            s.b.arrive_and_drop();
        }
    }
    static void pass_on(state& /*s*/) {}
    static auto waiting(const state& s) -> std::size_t { return s.b.statistics().waiting; }
    static void expect_intact(state& s) {
        EXPECT_EQ(s.b.statistics().waiting, 0u);
        EXPECT_EQ(s.b.phase(), 1u);
    }
};

/// Waits, logs `name` once through, hands on; logs "<name> cancelled" if cancelled at any point
/// (a wait that succeeded with a cancellation pending raises at the next await).
template <class A>
auto waiter(typename A::state& s, std::string name, std::vector<std::string>& log) -> task<void> {
    try {
        co_await A::wait(s);
        log.push_back(name);
        A::pass_on(s);
        co_await coven::sleep(0);
    } catch (const coven::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    }
}

/// Awaits `f` to its end, whatever the outcome. A waiter whose wake-up was lost would wait
/// forever: the deadline (virtual time, reached at once) turns that into a failure, not a hang.
auto finish(coven::future<void> f) -> task<void> {
    const bool ended = co_await coven::move_on_after(1000.0, [&f] { return f.wait(); });
    if (!ended) {
        ADD_FAILURE() << "a waiter never ended: its wake-up was lost";
    }
}

} // namespace

template <class A>
class WaitingPrimitive : public ::testing::Test {};
using waiting_primitives =
    ::testing::Types<permit_waits<coven::lock>, permit_waits<coven::priority_lock>,
                     permit_waits<coven::semaphore>, permit_waits<coven::scarlet_lock>,
                     condition_waits<coven::condition>, condition_waits<coven::priority_condition>,
                     queue_get_waits, queue_put_waits, event_waits, latch_waits, barrier_waits>;
TYPED_TEST_SUITE(WaitingPrimitive, waiting_primitives);

TYPED_TEST(WaitingPrimitive, ACancelledWaiterLeavesAtOnceAndTheOthersStillGetThrough) {
    using A = TypeParam;
    coven::event_loop loop(virtual_options());
    typename A::state s(3);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        co_await A::prime(s);
        auto a = l->create_task(waiter<A>(s, "a", log));
        auto b = l->create_task(waiter<A>(s, "b", log));
        auto c = l->create_task(waiter<A>(s, "c", log));
        co_await coven::sleep(0.5);
        EXPECT_EQ(A::waiting(s), 3u);
        b.cancel();
        EXPECT_EQ(A::waiting(s), 2u); // unlinked by the cancel itself, before b runs
        co_await coven::sleep(0);
        EXPECT_TRUE(b.cancelled());
        A::release_first(s);
        co_await finish(a);
        co_await finish(c);
        EXPECT_FALSE(a.cancelled());
        EXPECT_FALSE(c.cancelled());
        A::expect_intact(s);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"b cancelled", "a", "c"}));
}

TYPED_TEST(WaitingPrimitive, AWaiterCancelledAfterItWasChosenBeforeItRan) {
    using A = TypeParam;
    coven::event_loop loop(virtual_options());
    typename A::state s(2);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        co_await A::prime(s);
        auto b = l->create_task(waiter<A>(s, "b", log));
        auto c = l->create_task(waiter<A>(s, "c", log));
        co_await coven::sleep(0.5);
        A::release_first(s); // chooses b (a broadcast chooses both)...
        b.cancel();          // ...which is cancelled before it runs
        co_await finish(b);
        co_await finish(c); // nothing more from here: what b was given reaches c
        EXPECT_TRUE(b.cancelled());
        EXPECT_FALSE(c.cancelled());
        A::expect_intact(s);
    };
    loop.run_until_complete(main());
    if (A::cancelled_after_chosen == after_chosen::succeeds) {
        // Its wait is over; the cancellation comes at its next await.
        EXPECT_EQ(log, (std::vector<std::string>{"b", "b cancelled", "c"}));
    } else {
        EXPECT_EQ(log, (std::vector<std::string>{"b cancelled", "c"}));
    }
}

TYPED_TEST(WaitingPrimitive, WaitersGoThroughInExactlyTheOrderTheyCame) {
    using A = TypeParam;
    constexpr int n = 200;
    coven::event_loop loop(virtual_options());
    typename A::state s(n);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        co_await A::prime(s);
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < n; ++i) {
            fs.push_back(coven::current_loop()->create_task(waiter<A>(s, std::to_string(i), log)));
        }
        co_await coven::sleep(0.5);
        EXPECT_EQ(A::waiting(s), static_cast<std::size_t>(n));
        A::release_first(s);
        for (auto& f : fs) {
            co_await finish(f);
            EXPECT_FALSE(f.cancelled());
        }
        A::expect_intact(s);
    };
    loop.run_until_complete(main());
    std::vector<std::string> expected;
    for (int i = 0; i < n; ++i) {
        expected.push_back(std::to_string(i));
    }
    EXPECT_EQ(log, expected);
}

// Seeded cancels at every moment of the hand-on chain: while parked, chosen and not yet run,
// holding, handing on. Each waiter ends once; one that was not cancelled got through exactly
// once; whatever was handed round is neither lost nor doubled (expect_intact), and no waiter
// is left behind (the accounting listener checks after the test).
TYPED_TEST(WaitingPrimitive, SeededCancelsNeverLoseOrRepeatAWakeUp) {
    using A = TypeParam;
    constexpr int n = 40;
    for (std::uint32_t seed = 1; seed <= 25; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        coven::event_loop loop(virtual_options());
        typename A::state s(n);
        std::vector<std::string> log;
        std::vector<coven::future<void>> fs;
        auto main = [&]() -> task<void> {
            std::mt19937 rng(seed);
            co_await A::prime(s);
            for (int i = 0; i < n; ++i) {
                fs.push_back(
                    coven::current_loop()->create_task(waiter<A>(s, std::to_string(i), log)));
            }
            co_await coven::sleep(0.5);
            auto cancel_some = [&](unsigned one_in) {
                for (auto& f : fs) {
                    if (!f.done() && rng() % one_in == 0) {
                        f.cancel();
                    }
                }
            };
            cancel_some(8); // parked
            A::release_first(s);
            cancel_some(8); // chosen (the first, or everyone), not run yet
            for (int turn = 0; turn < 100 * n; ++turn) {
                co_await coven::skip_ready_cycle();
                cancel_some(16); // wherever they are now
            }
            for (auto& f : fs) {
                co_await finish(f);
            }
            A::expect_intact(s);
        };
        loop.run_until_complete(main());
        int through = 0;
        for (int i = 0; i < n; ++i) {
            const std::string name = std::to_string(i);
            const auto got = std::count(log.begin(), log.end(), name);
            const auto raised = std::count(log.begin(), log.end(), name + " cancelled");
            const auto& f = fs[static_cast<std::size_t>(i)];
            EXPECT_LE(got, 1) << name;
            EXPECT_EQ(raised, f.cancelled() ? 1 : 0) << name;
            if (!f.cancelled()) {
                EXPECT_EQ(got, 1) << name;
            }
            through += static_cast<int>(got);
        }
        EXPECT_GT(through, 0);
    }
}
