// Timeouts (B1, S12, S13): move_on/fail forms, apply_timeout, repeat_timeout, TESTING.md #3's
// race table, and a cancel scope around every awaitable coven has.
#include <coven/timeout.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using namespace coven_test;
using coven::cancel_scope;
using coven::future;
using coven::task;

// --- the one-expression forms -----------------------------------------------------------------

TEST(Timeout, FailAfterReturnsTheValueOrThrowsTimeoutError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        int v = co_await coven::fail_after(2s, sleep_then(1.0, 7));
        EXPECT_EQ(v, 7);
        EXPECT_THROW(co_await coven::fail_after(2s, sleep_then(5.0, 7)), coven::timeout_error);
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
        EXPECT_THROW(co_await coven::fail_at(at(4.0), sleep_for(5.0)), coven::timeout_error);
        EXPECT_DOUBLE_EQ(loop.time(), 4.0);
        co_await coven::fail_after(1.5, sleep_for(1.0)); // void work
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(Timeout, MoveOnAfterReturnsEmptyQuietly) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        std::optional<int> v = co_await coven::move_on_after(2s, sleep_then(1.0, 7));
        EXPECT_EQ(v, 7);
        v = co_await coven::move_on_after(2.0, sleep_then(5.0, 7));
        EXPECT_FALSE(v.has_value());
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
        bool finished = co_await coven::move_on_at(at(3.5), sleep_for(1.0));
        EXPECT_FALSE(finished);
        EXPECT_DOUBLE_EQ(loop.time(), 3.5);
    };
    loop.run_until_complete(main());
}

TEST(Timeout, WorkMayBeALambdaBlockAFutureOrAnyAwaitable) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        int local = 0;
        co_await coven::fail_after(5s, [&]() -> task<void> {
            co_await coven::sleep(1.0);
            local = 1;
        });
        EXPECT_EQ(local, 1);
        auto f = loop.create_task(sleep_then(1.0, 9));
        EXPECT_EQ(co_await coven::fail_after(5s, f), 9);
        EXPECT_EQ(f.result(), 9); // an lvalue future is awaited, not consumed
        EXPECT_FALSE(co_await coven::move_on_after(1s, [] { return coven::sleep(10.0); }));
        EXPECT_TRUE(co_await coven::move_on_after(1s, [] { return coven::skip_ready_cycle(); }));
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(Timeout, HugeAndInfiniteDurationsMeanNoDeadline) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto a = coven::move_on_after(std::chrono::hours::max());
        EXPECT_EQ(a.deadline(), cancel_scope::no_deadline);
        auto b = coven::fail_after(1e300);
        EXPECT_EQ(b.deadline(), cancel_scope::no_deadline);
        EXPECT_EQ(co_await coven::fail_after(std::chrono::hours::max(), sleep_then(1.0, 3)), 3);
    };
    loop.run_until_complete(main());
}

TEST(Timeout, TimeoutReturnsOnlyAfterTheInnerWorkHasUnwound) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        try {
            co_await coven::fail_after(1s, [&]() -> task<void> {
                bool cancelled = false;
                try {
                    co_await coven::sleep(10.0);
                } catch (const coven::cancelled_error&) {
                    cancelled = true;
                }
                if (cancelled) {
                    // Level-triggered: the cleanup's own await needs a shield.
                    cancel_scope cleanup;
                    cleanup.set_shield(true);
                    co_await cleanup.run(sleep_for(2.0));
                    log.push_back("cleaned up at " + std::to_string(loop.time()));
                    throw coven::cancelled_error();
                }
            });
        } catch (const coven::timeout_error&) {
            log.push_back("timeout at " + std::to_string(loop.time()));
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"cleaned up at 3.000000", "timeout at 3.000000"}));
}

TEST(Timeout, TimeoutErrorAndCancelledErrorAreDistinctTypes) {
    static_assert(!std::is_base_of_v<coven::cancelled_error, coven::timeout_error>);
    static_assert(!std::is_base_of_v<coven::timeout_error, coven::cancelled_error>);
    static_assert(std::is_base_of_v<coven::error, coven::timeout_error>);
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        bool caught_as_cancel = false;
        try {
            co_await coven::fail_after(1s, sleep_for(2.0));
        } catch (const coven::cancelled_error&) {
            caught_as_cancel = true;
        } catch (const coven::timeout_error&) {
        }
        EXPECT_FALSE(caught_as_cancel);
    };
    loop.run_until_complete(main());
}

TEST(Timeout, AnOuterCancelIsNeverReportedAsATimeout) {
    coven::event_loop loop(virtual_options());
    auto worker = [](std::string& seen) -> task<void> {
        try {
            co_await coven::fail_after(5s, sleep_for(10.0));
            seen = "value";
        } catch (const coven::timeout_error&) {
            seen = "timeout";
        } catch (const coven::cancelled_error&) {
            seen = "cancelled";
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        std::string seen;
        auto w = loop.create_task(worker(seen));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_EQ(seen, "cancelled");
    };
    loop.run_until_complete(main());
}

TEST(Timeout, OuterCancelRaisedInsideStaysACancelWhenTheDeadlinePassesDuringCleanup) {
    // The task is cancelled at t=1 inside fail_after(2s); its cleanup awaits past t=2, so the
    // scope's cancellation replaces the task's in flight. The scope must not report a timeout.
    coven::event_loop loop(virtual_options());
    auto worker = [](std::string& seen) -> task<void> {
        try {
            co_await coven::fail_after(2s, []() -> task<void> {
                bool cancelled = false;
                try {
                    co_await coven::sleep(10.0);
                } catch (const coven::cancelled_error&) {
                    cancelled = true;
                }
                if (cancelled) {
                    co_await coven::sleep(5.0); // cut at t=2 by the scope's deadline
                }
            });
            seen = "value";
        } catch (const coven::timeout_error&) {
            seen = "timeout";
        } catch (const coven::cancelled_error&) {
            seen = "cancelled";
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        std::string seen;
        auto w = loop.create_task(worker(seen));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_EQ(seen, "cancelled");
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

// --- TESTING.md #3: the timeout race table ----------------------------------------------------
//
// Three events reach a waiter W in one tick (all timers due at t=1, fired in the order they were
// armed, before W can run again):
//   R: the awaited task T's result becomes ready (T's sleep ends),
//   D: the deadline (fail_after's scope around `co_await T`, or T.apply_timeout()),
//   C: an outer cancellation (W's own task cancelled, or a cancel scope around everything).
// Every order of every non-empty subset is run. The expected outcome:
//   R first                  -> W gets T's value (a result that arrived is never lost), and a
//                               task cancel in the tick is still raised at W's next await;
//   else, C among the events -> cancelled_error (never a timeout);
//   else                     -> timeout_error;
// and whenever W resumes, T has already ended (a timeout returns after the work unwound).

namespace {

enum class event { result, deadline, cancel };
enum class form { fail_after, apply_timeout };
enum class cancel_kind { task, scope };
enum class outcome { value, cancelled, timeout };

auto name(const std::vector<event>& order) -> std::string {
    std::string s;
    for (event e : order) {
        s += e == event::result ? 'R' : e == event::deadline ? 'D' : 'C';
    }
    return s;
}

struct race {
    race(form h, cancel_kind k, std::vector<event> o) : how(h), kind(k), order(std::move(o)) {}
    form how;
    cancel_kind kind;
    std::vector<event> order;

    // Shared by the tasks of one run.
    bool target_may_sleep = false;
    double target_until = 0;
    cancel_scope outer;
    coven::fail_scope deadline_scope = coven::fail_at(cancel_scope::no_deadline);
    std::optional<outcome> seen;
    bool target_done_when_resumed = false;
    bool next_await_raised = false;
};

auto target(race& r) -> task<int> {
    while (!r.target_may_sleep) {
        co_await coven::skip_ready_cycle();
    }
    co_await coven::sleep_until(at(r.target_until)); // armed at R's place in the order
    co_return 42;
}

auto waiter(race& r, future<int> t) -> task<void> {
    try {
        std::optional<int> v = co_await r.outer.run([&]() -> task<int> {
            int got = 0;
            if (r.how == form::fail_after) {
                got = co_await r.deadline_scope.run(t);
            } else {
                got = co_await t;
            }
            co_return got;
        });
        r.target_done_when_resumed = t.done();
        r.seen = v ? outcome::value : outcome::cancelled; // empty: the outer scope absorbed it
        if (v) {
            EXPECT_EQ(*v, 42);
        }
    } catch (const coven::timeout_error&) {
        r.target_done_when_resumed = t.done();
        r.seen = outcome::timeout;
    } catch (const coven::cancelled_error&) {
        r.target_done_when_resumed = t.done();
        r.seen = outcome::cancelled;
        throw;
    }
    try {
        co_await coven::skip_ready_cycle();
    } catch (const coven::cancelled_error&) {
        r.next_await_raised = true;
    }
}

auto drive(coven::event_loop& loop, race& r) -> task<void> {
    auto t = loop.create_task(target(r));
    auto w = loop.create_task(waiter(r, t));
    for (int i = 0; i < 3; ++i) {
        co_await coven::skip_ready_cycle(); // W parks on T inside both scopes; T spins
    }
    const bool has_result =
        std::find(r.order.begin(), r.order.end(), event::result) != r.order.end();
    for (event e : r.order) {
        switch (e) {
        case event::result:
            r.target_until = 1.0;
            r.target_may_sleep = true;
            co_await coven::skip_ready_cycle(); // T arms its timer now
            co_await coven::skip_ready_cycle();
            break;
        case event::deadline:
            if (r.how == form::fail_after) {
                r.deadline_scope.set_deadline(at(1.0));
            } else {
                t.apply_timeout(1s);
            }
            break;
        case event::cancel:
            if (r.kind == cancel_kind::scope) {
                r.outer.set_deadline(at(1.0));
            } else {
                w.apply_timeout(1s); // cancels W's task from a timer, in arm order
            }
            break;
        }
    }
    if (!has_result) {
        r.target_until = 1000.0;
        r.target_may_sleep = true;
    }
    co_await w.wait();
    co_await t.wait();
}

auto expected(const race& r) -> outcome {
    if (r.order.front() == event::result) {
        return outcome::value;
    }
    if (std::find(r.order.begin(), r.order.end(), event::cancel) != r.order.end()) {
        return outcome::cancelled;
    }
    return outcome::timeout;
}

} // namespace

TEST(Timeout, RaceTableOfResultDeadlineAndOuterCancelInOneTick) {
    std::vector<std::vector<event>> orders;
    std::vector<event> all{event::result, event::deadline, event::cancel};
    for (int mask = 1; mask < 8; ++mask) {
        std::vector<event> subset;
        for (int i = 0; i < 3; ++i) {
            if (mask & (1 << i)) {
                subset.push_back(all[static_cast<std::size_t>(i)]);
            }
        }
        std::sort(subset.begin(), subset.end());
        do {
            orders.push_back(subset);
        } while (std::next_permutation(subset.begin(), subset.end()));
    }
    ASSERT_EQ(orders.size(), 15u);
    int runs = 0;
    for (form how : {form::fail_after, form::apply_timeout}) {
        for (cancel_kind kind : {cancel_kind::task, cancel_kind::scope}) {
            for (const auto& order : orders) {
                const std::string label =
                    std::string(how == form::fail_after ? "fail_after " : "apply_timeout ") +
                    (kind == cancel_kind::task ? "task-cancel " : "scope-cancel ") + name(order);
                coven::event_loop loop(virtual_options());
                race r(how, kind, order);
                loop.run_until_complete(drive(loop, r));
                ASSERT_TRUE(r.seen.has_value()) << label;
                EXPECT_EQ(*r.seen, expected(r)) << label;
                EXPECT_TRUE(r.target_done_when_resumed) << label;
                const bool task_cancel_in_tick =
                    kind == cancel_kind::task &&
                    std::find(order.begin(), order.end(), event::cancel) != order.end();
                // A task cancel that did not end W is still pending: raised by the next await.
                EXPECT_EQ(r.next_await_raised, task_cancel_in_tick && *r.seen == outcome::value)
                    << label;
                EXPECT_DOUBLE_EQ(loop.time(), 1.0) << label;
                ++runs;
            }
        }
    }
    EXPECT_EQ(runs, 60);
}

// --- future::apply_timeout (S12) --------------------------------------------------------------

TEST(ApplyTimeout, ExpiryCancelsTheTaskAndItsAwaitersGetTimeoutError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_for(3600.0));
        f.apply_timeout(1.0);
        EXPECT_THROW(co_await f, coven::timeout_error);
        EXPECT_TRUE(f.done());
        EXPECT_TRUE(f.cancelled());
        EXPECT_TRUE(f.timed_out());
        EXPECT_THROW(f.result(), coven::timeout_error);
        EXPECT_THROW((void)f.exception(), coven::timeout_error);
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(ApplyTimeout, AResultThatArrivedFirstIsNeverLost) {
    coven::event_loop loop(virtual_options());
    auto stubborn = []() -> task<int> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
        }
        co_return 5; // caught the timeout's cancel and returned anyway
    };
    auto main = [&]() -> task<void> {
        auto quick = loop.create_task(sleep_then(0.5, 4));
        quick.apply_timeout(1.0);
        EXPECT_EQ(co_await quick, 4);
        EXPECT_FALSE(quick.timed_out());
        EXPECT_EQ(coven::testing::live().timers, 0); // its deadline was disarmed at the end

        auto s = loop.create_task(stubborn());
        s.apply_timeout(1.0);
        EXPECT_EQ(co_await s, 5);
        EXPECT_FALSE(s.cancelled());
        EXPECT_FALSE(s.timed_out());
    };
    loop.run_until_complete(main());
}

TEST(ApplyTimeout, CallingItAgainMovesTheDeadline) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_then(3.0, 1));
        f.apply_timeout(1.0);
        f.apply_timeout(5s); // later: the task now finishes in time
        EXPECT_EQ(co_await f, 1);
        auto g = loop.create_task(sleep_then(3.0, 1));
        g.apply_timeout(5.0);
        g.apply_timeout(std::chrono::milliseconds(500)); // earlier
        EXPECT_THROW(co_await g, coven::timeout_error);
        EXPECT_DOUBLE_EQ(loop.time(), 3.5);
        g.apply_timeout(1.0); // ended: no effect
        EXPECT_EQ(coven::testing::live().timers, 0);
    };
    loop.run_until_complete(main());
}

TEST(ApplyTimeout, CancellingTheAwaiterIsACancelNotATimeout) {
    coven::event_loop loop(virtual_options());
    auto waiter = [](future<void> f) -> task<void> { co_await f; };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_for(10.0));
        f.apply_timeout(5.0);
        auto w = loop.create_task(waiter(f));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_TRUE(f.cancelled());  // the awaited task was cancelled with it...
        EXPECT_FALSE(f.timed_out()); // ...but not by its deadline
        EXPECT_THROW(f.result(), coven::cancelled_error);
    };
    loop.run_until_complete(main());
}

TEST(ApplyTimeout, FromAThreadThatDoesNotDriveTheLoopIsAUsageError) {
    coven::event_loop loop(virtual_options());
    loop.start(); // driven by its own thread from now on
    future<void> f = loop.run([](coven::event_loop& loop) -> task<future<void>> {
        co_return loop.create_task(sleep_for(1.0));
    }(loop));
    EXPECT_THROW(f.apply_timeout(1.0), coven::usage_error);
    loop.run([](future<void> f) -> task<void> { co_await f; }(std::move(f)));
    loop.stop();
}

// --- repeat_timeout (S13) ---------------------------------------------------------------------

TEST(RepeatTimeout, EachIterationGetsAFreshTimeout) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        double after = 2;
        std::vector<double> said;
        try {
            co_await coven::repeat_timeout(5s, [&]() -> task<void> {
                co_await coven::sleep(after);
                said.push_back(loop.time());
                after += 2;
            });
        } catch (const coven::timeout_error&) {
            said.push_back(-loop.time());
        }
        // 2 (at 2), 4 (at 6), then 6 > 5: timed out at 6 + 5.
        EXPECT_EQ(said, (std::vector<double>{2.0, 6.0, -11.0}));
    };
    loop.run_until_complete(main());
}

TEST(RepeatTimeout, ABoolBodyEndsTheLoopByReturningFalse) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        int rounds = 0;
        co_await coven::repeat_timeout(1.0, [&]() -> task<bool> {
            co_await coven::sleep(0.5);
            co_return ++rounds < 4;
        });
        EXPECT_EQ(rounds, 4);
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(RepeatTimeout, CancellingTheLoopIsACancel) {
    coven::event_loop loop(virtual_options());
    auto looper = []() -> task<void> {
        co_await coven::repeat_timeout(5s, []() -> task<void> { co_await coven::sleep(1.0); });
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(looper());
        co_await coven::sleep(3.5);
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
    };
    loop.run_until_complete(main());
}

// --- a cancel scope around every awaitable ----------------------------------------------------

namespace {

enum class awaitable_kind {
    sleep,
    sleep_until,
    skip_ready_cycle,
    skip_poll_cycle,
    future_await,
    future_wait,
    sleep_future,
    child_task
};

// Waits "forever" on one kind of awaitable (the yields loop, so that only cancellation ends
// them).
auto wait_on(awaitable_kind k, coven::event_loop& loop, future<void>* spawned) -> task<void> {
    switch (k) {
    case awaitable_kind::sleep:
        co_await coven::sleep(3600.0);
        break;
    case awaitable_kind::sleep_until:
        co_await coven::sleep_until(at(3600.0));
        break;
    case awaitable_kind::skip_ready_cycle:
        for (;;) {
            co_await coven::skip_ready_cycle();
        }
    case awaitable_kind::skip_poll_cycle:
        for (;;) {
            co_await coven::skip_poll_cycle();
        }
    case awaitable_kind::future_await:
        *spawned = loop.create_task(sleep_for(3600.0));
        co_await *spawned;
        break;
    case awaitable_kind::future_wait:
        *spawned = loop.create_task(sleep_for(3600.0));
        co_await spawned->wait();
        break;
    case awaitable_kind::sleep_future: {
        *spawned = coven::sleep(3600.0);
        co_await *spawned;
        break;
    }
    case awaitable_kind::child_task:
        co_await sleep_for(3600.0);
        break;
    }
}

auto cancel_after_yields(cancel_scope& s, int yields) -> task<void> {
    for (int i = 0; i < yields; ++i) {
        co_await coven::skip_ready_cycle();
    }
    s.cancel();
}

} // namespace

TEST(Timeout, ACancelScopeAroundEveryAwaitableUnlinksTheWaiterAndWakesItOnce) {
    for (auto k :
         {awaitable_kind::sleep, awaitable_kind::sleep_until, awaitable_kind::skip_ready_cycle,
          awaitable_kind::skip_poll_cycle, awaitable_kind::future_await,
          awaitable_kind::future_wait, awaitable_kind::sleep_future, awaitable_kind::child_task}) {
        for (bool by_deadline : {true, false}) {
            const bool yields =
                k == awaitable_kind::skip_ready_cycle || k == awaitable_kind::skip_poll_cycle;
            if (yields && by_deadline) {
                continue; // a yielding task keeps the virtual clock still: cancelled below
            }
            coven::event_loop loop(virtual_options());
            auto main = [&]() -> task<void> {
                future<void> spawned;
                cancel_scope scope(by_deadline ? at(1.0) : cancel_scope::no_deadline);
                future<void> canceller;
                if (!by_deadline) {
                    canceller = loop.create_task(cancel_after_yields(scope, 5));
                }
                bool finished = co_await scope.run(wait_on(k, loop, &spawned));
                EXPECT_FALSE(finished) << static_cast<int>(k);
                EXPECT_TRUE(scope.cancelled_caught());
                EXPECT_EQ(coven::testing::live().waiters, 0) << static_cast<int>(k);
                if (spawned.valid()) {
                    EXPECT_TRUE(spawned.done()); // the awaited task was cancelled with it
                    EXPECT_TRUE(spawned.cancelled());
                }
                if (canceller.valid()) {
                    co_await canceller;
                }
                EXPECT_DOUBLE_EQ(loop.time(), by_deadline ? 1.0 : 0.0);
                EXPECT_EQ(loop.statistics().timers, 0u) << static_cast<int>(k);
            };
            loop.run_until_complete(main());
        }
    }
}

TEST(Timeout, SleepDueInTheSameTickAsTheDeadlineWakesOnceEitherWay) {
    for (bool sleep_armed_first : {true, false}) {
        coven::event_loop loop(virtual_options());
        auto setter = [](cancel_scope& s) -> task<void> {
            co_await coven::skip_ready_cycle(); // the block has armed its sleep by now
            s.set_deadline(at(1.0));
        };
        auto main = [&]() -> task<void> {
            cancel_scope scope;
            future<void> st;
            if (sleep_armed_first) {
                st = loop.create_task(setter(scope));
            } else {
                scope.set_deadline(at(1.0)); // armed on entry, before the block's sleep
            }
            int woke = 0;
            int raised = 0;
            co_await scope.run([&]() -> task<void> {
                try {
                    co_await coven::sleep_until(at(1.0));
                    ++woke; // its timer fired first: the sleep completes normally...
                    co_await coven::skip_ready_cycle(); // ...and the next await raises
                } catch (const coven::cancelled_error&) {
                    ++raised;
                    throw;
                }
            });
            if (st.valid()) {
                co_await st;
            }
            EXPECT_EQ(woke, sleep_armed_first ? 1 : 0);
            EXPECT_EQ(raised, 1);
            EXPECT_TRUE(scope.cancelled_caught());
            EXPECT_EQ(loop.statistics().timers, 0u);
            EXPECT_DOUBLE_EQ(loop.time(), 1.0);
        };
        loop.run_until_complete(main());
    }
}

TEST(ApplyTimeout, AnExplicitCancelFirstIsNotRelabelledNorCutByTheDeadline) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        // Cancelled at 0.5; the cleanup runs to 1.5, across the deadline at 1.0.
        auto f = loop.create_task(sleep_with_slow_cleanup(10.0, 1.0, log));
        f.apply_timeout(1.0);
        co_await coven::sleep(0.5);
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_FALSE(f.timed_out());
        EXPECT_DOUBLE_EQ(loop.time(), 1.5);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"cleanup done"}));
}

// The task catches the timeout's cancellation and goes on; a later explicit cancel() ends it:
// that cancel is its outcome, and it is not labelled as timed out.
TEST(ApplyTimeout, ACancelAfterATimeoutTheTaskWentOnFromIsNotLabelledATimeout) {
    coven::event_loop loop(virtual_options());
    auto worker = []() -> task<int> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
        }
        co_await coven::sleep(10.0);
        co_return 42;
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(worker());
        f.apply_timeout(1.0);
        co_await coven::sleep(2.0); // the timeout fired at 1 and was handled
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_TRUE(f.cancelled());
        EXPECT_FALSE(f.timed_out());
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(ApplyTimeout, FromTheOwningThreadWhileTheLoopIsNotDriven) {
    coven::event_loop loop(virtual_options());
    future<void> f;
    loop.run_until_complete([](coven::event_loop& loop, future<void>& f) -> task<void> {
        f = loop.create_task(sleep_for(10.0));
        co_return;
    }(loop, f));
    f.apply_timeout(2.0); // this thread owns the loop; nobody drives it right now
    loop.run_until_complete(
        [](future<void> f) -> task<void> { EXPECT_THROW(co_await f, coven::timeout_error); }(f));
    EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    f = {};
}
