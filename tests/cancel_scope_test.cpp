// cancel_scope (B1): deadlines, cancel(), shields, nesting, level-triggered cancellation.
#include <coven/cancel_scope.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::cancel_scope;
using coven::future;
using coven::task;

TEST(CancelScope, DeadlineStopsTheBlockAndTheScopeAbsorbsItsOwnCancellation) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(2.0));
        std::optional<int> r = co_await scope.run(sleep_then(10.0, 7));
        EXPECT_FALSE(r.has_value());
        EXPECT_TRUE(scope.cancel_called());
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_FALSE(scope.active());
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
        co_await coven::sleep(1.0); // outside the scope, awaits work again
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, BlockThatFinishesFirstReturnsItsValue) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(2.0));
        std::optional<int> r = co_await scope.run(sleep_then(1.0, 7));
        EXPECT_EQ(r, 7);
        EXPECT_FALSE(scope.cancel_called());
        EXPECT_FALSE(scope.cancelled_caught());
        EXPECT_EQ(coven::testing::live().timers, 0); // the deadline was disarmed on leaving
        bool finished = co_await scope.run([]() -> task<void> { co_return; });
        (void)finished;
    };
    EXPECT_THROW(loop.run_until_complete(main()), coven::usage_error); // entered twice
}

TEST(CancelScope, EnteringAnActiveScopeAgainIsAUsageErrorAndLeavesItIntact) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(2.0));
        bool threw = false;
        bool finished = co_await scope.run([&]() -> task<void> {
            try {
                co_await scope.run(sleep_for(1.0)); // re-entered from inside its own block
            } catch (const coven::usage_error&) {
                threw = true;
            }
            EXPECT_TRUE(scope.active());
            co_await coven::sleep(10.0); // the scope still works: cut at 2.0
        });
        EXPECT_TRUE(threw);
        EXPECT_FALSE(finished);
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, LambdaBlockCanReadAndMoveItsOwnDeadline) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope = coven::move_on_after(2.0);
        std::vector<double> times;
        bool finished = co_await scope.run([&]() -> task<void> {
            co_await coven::sleep(1.5);
            times.push_back(loop.time());
            scope.set_deadline(scope.deadline() + std::chrono::seconds(1)); // now 3.0
            co_await coven::sleep(1.0);
            times.push_back(loop.time());
            co_await coven::sleep(10.0);
            times.push_back(loop.time()); // not reached
        });
        EXPECT_FALSE(finished);
        EXPECT_EQ(times, (std::vector<double>{1.5, 2.5}));
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, MovingTheDeadlineEarlierOrLaterWhileTheBlockWaits) {
    for (double moved_to : {1.5, 4.0}) {
        coven::event_loop loop(virtual_options());
        auto mover = [](cancel_scope& s, double to) -> task<void> {
            co_await coven::sleep(1.0);
            EXPECT_TRUE(s.active());
            s.set_deadline(at(to));
        };
        auto main = [&]() -> task<void> {
            cancel_scope scope(at(2.0));
            auto m = loop.create_task(mover(scope, moved_to));
            bool finished = co_await scope.run(sleep_for(10.0));
            EXPECT_FALSE(finished);
            EXPECT_DOUBLE_EQ(loop.time(), moved_to);
            EXPECT_EQ(scope.deadline(), at(moved_to));
            co_await m;
        };
        loop.run_until_complete(main());
    }
}

TEST(CancelScope, RemovingTheDeadlineWhileWaitingLetsTheBlockFinish) {
    coven::event_loop loop(virtual_options());
    auto mover = [](cancel_scope& s) -> task<void> {
        co_await coven::sleep(1.0);
        s.set_deadline(cancel_scope::no_deadline);
    };
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(2.0));
        auto m = loop.create_task(mover(scope));
        EXPECT_EQ(co_await scope.run(sleep_then(5.0, 3)), 3);
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
        co_await m;
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, DeadlineAlreadyInThePastCancelsAtTheFirstAwait) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::sleep(5.0);
        cancel_scope past(at(1.0));
        EXPECT_FALSE(co_await past.run(sleep_for(1.0)));
        EXPECT_TRUE(past.cancelled_caught());
        EXPECT_DOUBLE_EQ(loop.time(), 5.0); // at once

        // A block with no await cannot see it: its result stands.
        cancel_scope past2(at(1.0));
        EXPECT_EQ(co_await past2.run([]() -> task<int> { co_return 4; }), 4);
        EXPECT_TRUE(past2.cancel_called());
        EXPECT_FALSE(past2.cancelled_caught());

        auto zero = coven::move_on_after(std::chrono::seconds(0));
        EXPECT_FALSE(co_await zero.run(sleep_for(1.0)));
        auto negative = coven::move_on_after(-3.0);
        EXPECT_FALSE(co_await negative.run(sleep_for(1.0)));
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, CancelBeforeRunStartsTheBlockCancelled) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope;
        scope.cancel();
        EXPECT_FALSE(co_await scope.run(sleep_for(1.0)));
        EXPECT_TRUE(scope.cancelled_caught());
        EXPECT_DOUBLE_EQ(loop.time(), 0.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, CancelFromAnotherTaskWakesTheBlockAtOnce) {
    coven::event_loop loop(virtual_options());
    auto canceller = [](cancel_scope& s) -> task<void> {
        co_await coven::sleep(1.0);
        s.cancel();
        s.cancel(); // idempotent
    };
    auto main = [&]() -> task<void> {
        cancel_scope scope; // no deadline
        auto c = loop.create_task(canceller(scope));
        EXPECT_FALSE(co_await scope.run(sleep_for(100.0)));
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
        co_await c;
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, CancellationIsLevelTriggeredUntilTheScopeIsLeft) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(1.0));
        int raised = 0;
        bool finished = co_await scope.run([&]() -> task<void> {
            for (int i = 0; i < 4; ++i) {
                try {
                    switch (i) {
                    case 0:
                        co_await coven::sleep(10.0);
                        break;
                    case 1:
                        co_await coven::skip_ready_cycle();
                        break;
                    case 2:
                        co_await coven::skip_poll_cycle();
                        break;
                    default:
                        co_await coven::sleep(0.0);
                        break;
                    }
                } catch (const coven::cancelled_error&) {
                    ++raised; // swallowed: the next await raises again
                }
            }
            co_return; // the block ends normally: its "result" stands
        });
        EXPECT_TRUE(finished);
        EXPECT_EQ(raised, 4);
        EXPECT_FALSE(scope.cancelled_caught());
        co_await coven::skip_ready_cycle(); // left: no more raising
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, ShieldKeepsAnOuterDeadlineOutUntilTheShieldedBlockEnds) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope outer(at(1.0));
        std::vector<double> times;
        bool finished = co_await outer.run([&]() -> task<void> {
            cancel_scope shielded;
            shielded.set_shield(true);
            EXPECT_TRUE(co_await shielded.run(sleep_for(3.0))); // not cut at 1.0
            times.push_back(loop.time());
            co_await coven::sleep(10.0); // outside the shield: raises at once
            times.push_back(-1);
        });
        EXPECT_FALSE(finished);
        EXPECT_TRUE(outer.cancelled_caught());
        EXPECT_EQ(times, (std::vector<double>{3.0}));
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, ShieldHoldsBackTheTasksOwnCancelUntilLeft) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto worker = [](std::vector<std::string>& log) -> task<void> {
        cancel_scope shielded;
        shielded.set_shield(true);
        co_await shielded.run(sleep_for(5.0)); // cleanup that must finish
        log.push_back("cleanup done");
        co_await coven::sleep(1.0);
        log.push_back("not reached");
    };
    auto main = [&]() -> task<void> {
        auto w = loop.create_task(worker(log));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"cleanup done"}));
}

TEST(CancelScope, LoweringTheShieldLetsAPendingCancellationInAtOnce) {
    coven::event_loop loop(virtual_options());
    auto lowerer = [](cancel_scope& s) -> task<void> {
        co_await coven::sleep(2.0);
        s.set_shield(false);
    };
    auto main = [&]() -> task<void> {
        cancel_scope outer(at(1.0));
        cancel_scope shielded;
        shielded.set_shield(true);
        auto l = loop.create_task(lowerer(shielded));
        bool finished =
            co_await outer.run([&]() -> task<void> { co_await shielded.run(sleep_for(100.0)); });
        EXPECT_FALSE(finished);
        EXPECT_TRUE(outer.cancelled_caught());
        EXPECT_FALSE(shielded.cancelled_caught()); // the outer scope's, passing through
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
        co_await l;
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, AShieldedScopesOwnDeadlineStillApplies) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope shielded(at(2.0));
        shielded.set_shield(true);
        EXPECT_FALSE(co_await shielded.run(sleep_for(10.0)));
        EXPECT_TRUE(shielded.cancelled_caught());
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, CancelledCaughtNamesTheScopeThatStoppedTheWork) {
    for (bool outer_first : {true, false}) {
        coven::event_loop loop(virtual_options());
        auto main = [&]() -> task<void> {
            cancel_scope outer(at(outer_first ? 1.0 : 5.0));
            cancel_scope inner(at(outer_first ? 5.0 : 1.0));
            bool outer_finished = co_await outer.run([&]() -> task<void> {
                bool inner_finished = co_await inner.run(sleep_for(10.0));
                EXPECT_FALSE(inner_finished);
                co_await coven::sleep(10.0);
            });
            EXPECT_FALSE(outer_finished);
            EXPECT_EQ(inner.cancelled_caught(), !outer_first);
            EXPECT_EQ(outer.cancelled_caught(), true); // cut at 5.0 in the second case
            EXPECT_DOUBLE_EQ(loop.time(), outer_first ? 1.0 : 5.0);
        };
        loop.run_until_complete(main());
    }
}

TEST(CancelScope, OuterScopesCancellationPassesThroughACancelledInnerScopeTooWhenBothFire) {
    // Both deadlines pass in the same tick: the inner scope absorbs its own cancellation, and
    // the outer one, still pending, is raised where the inner block ends.
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope outer(at(1.0));
        cancel_scope inner(at(1.0));
        int after_inner = 0;
        bool finished = co_await outer.run([&]() -> task<void> {
            co_await inner.run(sleep_for(10.0));
            ++after_inner;
        });
        EXPECT_FALSE(finished);
        EXPECT_EQ(after_inner, 0);
        EXPECT_TRUE(inner.cancelled_caught());
        EXPECT_TRUE(outer.cancelled_caught());
    };
    loop.run_until_complete(main());
}

namespace {
auto nest(std::vector<std::unique_ptr<cancel_scope>>& scopes, std::size_t i, double sleep_s)
    -> task<int> {
    if (i == scopes.size()) {
        co_await coven::sleep(sleep_s);
        co_return 1;
    }
    auto r = co_await scopes[i]->run(nest(scopes, i + 1, sleep_s));
    co_return r ? *r + 1 : 0;
}
} // namespace

TEST(CancelScope, FiveThousandNestedScopesUnwindToTheOneThatFired) {
    constexpr std::size_t depth = 5000;
    constexpr std::size_t shielded = depth / 3;
    for (std::size_t fired : {std::size_t{0}, depth / 2, depth - 1}) {
        coven::event_loop loop(virtual_options());
        std::vector<std::unique_ptr<cancel_scope>> scopes;
        for (std::size_t i = 0; i < depth; ++i) {
            scopes.push_back(std::make_unique<cancel_scope>(i == fired ? at(1.0) : at(100.0 + i)));
        }
        scopes[shielded]->set_shield(true);
        int r = loop.run_until_complete(nest(scopes, 0, 50.0));
        if (fired < shielded) {
            // The shield deeper in keeps it out: the sleep completes, every level returns.
            EXPECT_EQ(r, static_cast<int>(depth) + 1);
            EXPECT_TRUE(scopes[fired]->cancel_called());
            EXPECT_DOUBLE_EQ(loop.time(), 50.0);
        } else {
            // Levels above the one that fired count up from its empty result.
            EXPECT_EQ(r, static_cast<int>(fired)) << fired;
            EXPECT_DOUBLE_EQ(loop.time(), 1.0);
        }
        for (std::size_t i = 0; i < depth; ++i) {
            ASSERT_EQ(scopes[i]->cancelled_caught(), i == fired && fired >= shielded) << i;
            ASSERT_FALSE(scopes[i]->active());
        }
    }
}

TEST(CancelScope, FiveThousandNestedScopesAllFinishWhenNothingFires) {
    constexpr std::size_t depth = 5000;
    coven::event_loop loop(virtual_options());
    std::vector<std::unique_ptr<cancel_scope>> scopes;
    for (std::size_t i = 0; i < depth; ++i) {
        scopes.push_back(std::make_unique<cancel_scope>(at(100.0)));
    }
    EXPECT_EQ(loop.run_until_complete(nest(scopes, 0, 1.0)), static_cast<int>(depth) + 1);
    EXPECT_EQ(loop.statistics().timers, 0u);
}

TEST(CancelScope, FailModeScopeThrowsTimeoutErrorAfterTheBlockUnwound) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        bool unwound = false;
        coven::fail_scope scope = coven::fail_after(std::chrono::seconds(1));
        try {
            co_await scope.run([&]() -> task<void> {
                struct on_exit {
                    bool& flag;
                    ~on_exit() { flag = true; }
                } guard{unwound};
                co_await coven::sleep(10.0);
            });
            ADD_FAILURE() << "no timeout";
        } catch (const coven::timeout_error&) {
            EXPECT_TRUE(unwound);
        }
        EXPECT_TRUE(scope.cancelled_caught());
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, AFailScopesRunReturnsTheValueItselfNotAnOptional) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        coven::fail_scope scope = coven::fail_after(5.0);
        static_assert(std::is_same_v<decltype(scope.run(sleep_then(1.0, 7)).await_resume()), int>);
        int value = co_await scope.run(sleep_then(1.0, 7));
        EXPECT_EQ(value, 7);
        EXPECT_FALSE(scope.cancelled_caught());

        coven::fail_scope unbounded; // no deadline: only cancel() stops it, and that fails too
        EXPECT_EQ(unbounded.deadline(), cancel_scope::no_deadline);
        unbounded.cancel();
        EXPECT_THROW(co_await unbounded.run(sleep_then(1.0, 8)), coven::timeout_error);

        // Through a cancel_scope& the result is the optional of cancel_scope::run(); the scope
        // still fails rather than returning it empty.
        coven::fail_scope viewed = coven::fail_at(at(10.0));
        cancel_scope& plain = viewed;
        EXPECT_THROW(co_await plain.run(sleep_then(100.0, 9)), coven::timeout_error);
        EXPECT_EQ(loop.now(), at(10.0));
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, ErrorsFromTheBlockPassThroughEvenWhenCancelled) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(1.0));
        try {
            co_await scope.run([]() -> task<void> {
                try {
                    co_await coven::sleep(10.0);
                } catch (const coven::cancelled_error&) {
                    throw std::runtime_error("cleanup failed"); // replaces the cancellation
                }
            });
            ADD_FAILURE() << "the error was swallowed";
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "cleanup failed");
        }
        EXPECT_FALSE(scope.cancelled_caught());
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, ResultTypesCoverValuesMoveOnlyAndReferences) {
    coven::event_loop loop(virtual_options());
    int target = 5;
    auto main = [&]() -> task<void> {
        cancel_scope a;
        std::optional<std::unique_ptr<int>> p = co_await a.run(
            []() -> task<std::unique_ptr<int>> { co_return std::make_unique<int>(9); });
        EXPECT_TRUE(p.has_value() && **p == 9);
        cancel_scope b;
        auto ref = co_await b.run([&]() -> task<int&> { co_return target; });
        EXPECT_TRUE(ref.has_value());
        if (ref) {
            ref->get() = 6;
        }
        EXPECT_EQ(target, 6);
    };
    loop.run_until_complete(main());
}

TEST(CancelScope, UsedOffTheLoopThreadWhileActiveIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope;
        bool threw = false;
        co_await scope.run([&]() -> task<void> {
            std::thread([&] {
                try {
                    scope.cancel();
                } catch (const coven::usage_error&) {
                    threw = true;
                }
            }).join();
            co_await coven::sleep(1.0);
        });
        EXPECT_TRUE(threw);
        EXPECT_FALSE(scope.cancel_called());
    };
    loop.run_until_complete(main());
    EXPECT_THROW((void)coven::move_on_after(1.0), coven::usage_error); // no loop on this thread
}

namespace {
// Waits, shielded, on a task that waits on it: nothing can end either at loop stop.
auto deadlocked(future<void>* other) -> task<void> {
    co_await coven::skip_ready_cycle(); // *other is set by now
    cancel_scope outer(at(1000.0));
    co_await outer.run([other]() -> task<void> {
        cancel_scope shielded;
        shielded.set_shield(true);
        co_await shielded.run(*other);
    });
}
} // namespace

TEST(CancelScope, DestroyingASuspendedBlockAtLoopStopLeavesNothingBehind) {
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    struct pair {
        future<void> a, b;
    } st;
    auto main = [](coven::event_loop& loop, pair& st) -> task<void> {
        st.a = loop.create_task(deadlocked(&st.b));
        st.b = loop.create_task(deadlocked(&st.a));
        co_await coven::sleep(1.0);
        EXPECT_EQ(coven::testing::live().waiters, 2);
        st.a = {}; // only the loop refers to them now
        st.b = {};
    };
    loop->run_until_complete(main(*loop, st));
    loop.reset(); // stop(): cancelled twice, shielded, stuck: their frames are destroyed
    EXPECT_EQ(coven::testing::live().timers, 0);
    EXPECT_EQ(coven::testing::live().frames, 0);
}

TEST(CancelScope, DeadlineMovedFromTheOwningThreadWhileTheLoopIsNotDrivenArmsOnTheTasksLoop) {
    coven::event_loop loop(virtual_options());
    cancel_scope* scope_of_b = nullptr;
    bool b_finished = true;
    auto b = [](cancel_scope*& out, bool& finished) -> task<void> {
        cancel_scope s;
        out = &s;
        finished = co_await s.run(sleep_for(100.0));
    };
    future<void> fb;
    loop.run_until_complete(
        [](coven::event_loop& loop, future<void>& fb, task<void> b) -> task<void> {
            fb = loop.create_task(std::move(b));
            co_await coven::sleep(1.0);
        }(loop, fb, b(scope_of_b, b_finished)));
    ASSERT_NE(scope_of_b, nullptr);
    EXPECT_TRUE(scope_of_b->active());
    scope_of_b->set_deadline(at(5.0)); // from this thread: nobody drives the loop now
    loop.run_until_complete([](future<void> f) -> task<void> { co_await f; }(fb));
    EXPECT_FALSE(b_finished);
    EXPECT_DOUBLE_EQ(loop.time(), 5.0);
}

TEST(CancelScope, AnAwaitedTaskIsCancelledOnceWhenSeveralScopesAroundTheAwaiterFire) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        // Cancelled at t=1 by the inner scope; its cleanup runs to t=3 and must not be cut at
        // t=2 when the outer scope fires too.
        auto t = loop.create_task(sleep_with_slow_cleanup(10.0, 2.0, log));
        cancel_scope outer(at(2.0));
        cancel_scope inner(at(1.0));
        bool finished = co_await outer.run([&]() -> task<void> { co_await inner.run(t); });
        EXPECT_FALSE(finished);
        EXPECT_TRUE(t.cancelled());
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"cleanup done"}));
}

TEST(CancelScope, AnEmptyTaskIsAUsageErrorThatLeavesNoScopeBehind) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope(at(1.0));
        task<void> empty;
        bool threw = false;
        try {
            co_await scope.run(std::move(empty));
        } catch (const coven::usage_error&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        EXPECT_FALSE(scope.active());
        co_await coven::sleep(2.0); // not inside the scope: not cut at t=1
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
        EXPECT_EQ(coven::testing::live().timers, 0);
    };
    loop.run_until_complete(main());
}

namespace {
struct rvalue_awaitable {
    int value;
    [[nodiscard]] auto await_ready() const noexcept -> bool { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    auto await_resume() noexcept -> int&& { return std::move(value); }
};
} // namespace

TEST(CancelScope, AnAwaitableYieldingAnRvalueReferenceGivesAValue) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        cancel_scope scope;
        std::optional<int> r = co_await scope.run(rvalue_awaitable{5});
        EXPECT_EQ(r, 5);
        EXPECT_EQ(co_await coven::fail_after(1.0, rvalue_awaitable{6}), 6);
    };
    loop.run_until_complete(main());
}

// The error an await raises says where the cancellation came from: a cancelled scope, or the
// task's own cancel(). Inside a scope that is not cancelled, the task's own is raised, and it is
// consumed: the next await waits again.
TEST(CancelScope, TheRaisedErrorSaysWhetherAScopeOrTheTaskWasCancelled) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> what;
    auto sleeper = [](std::vector<std::string>& what, bool in_scope) -> task<void> {
        auto record_and_sleep_again = [&what]() -> task<void> {
            try {
                co_await coven::sleep(10.0);
            } catch (const coven::cancelled_error& e) {
                what.emplace_back(e.what());
            }
            co_await coven::sleep(1.0); // consumed: this one waits
            what.emplace_back("slept again");
        };
        if (in_scope) {
            cancel_scope scope;
            co_await scope.run(record_and_sleep_again());
        } else {
            co_await record_and_sleep_again();
        }
    };
    auto main = [&]() -> task<void> {
        auto own = loop.create_task(sleeper(what, false));
        auto scoped = loop.create_task(sleeper(what, true));
        co_await coven::sleep(1.0);
        own.cancel();
        scoped.cancel();
        co_await own;
        co_await scoped;
        cancel_scope scope;
        scope.cancel();
        co_await scope.run([&]() -> task<void> {
            try {
                co_await coven::sleep(10.0);
            } catch (const coven::cancelled_error& e) {
                what.emplace_back(e.what());
                throw;
            }
        });
    };
    loop.run_until_complete(main());
    const std::string own_message = "coven: the task was cancelled";
    const std::string scope_message =
        "coven: cancelled by a cancel scope (its deadline passed or cancel() was called)";
    EXPECT_EQ(what, (std::vector<std::string>{own_message, own_message, "slept again",
                                              "slept again", scope_message}));
}

// A cancelled scope's cancellation comes before an exception thrown into the task in the same
// turn. The scope absorbs its own; the thrown one stays pending and is raised by the first await
// outside the scope's block: the scope's own exit.
TEST(CancelScope, ACancelledScopeIsRaisedBeforeAnInterruptThatArrivedInTheSameTurn) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    cancel_scope* inner = nullptr;
    auto body = [](cancel_scope** inner, std::vector<std::string>& log) -> task<void> {
        cancel_scope scope;
        *inner = &scope;
        try {
            co_await scope.run([&log]() -> task<void> {
                try {
                    co_await coven::sleep(10.0);
                } catch (const coven::cancelled_error& e) {
                    log.emplace_back(e.what());
                    throw;
                }
            });
            log.emplace_back("not reached");
        } catch (const coven::interrupt_error&) {
            log.emplace_back("interrupt at the scope's exit");
        }
        *inner = nullptr;
        co_await coven::sleep(1.0); // nothing left pending
        log.emplace_back("slept");
    };
    auto main = [&]() -> task<void> {
        auto t = loop.create_task(body(&inner, log));
        co_await coven::sleep(1.0);
        inner->cancel();
        coven::task_throw(t, coven::interrupt_error());
        co_await t;
        EXPECT_EQ(vtime(loop), 2.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{
                       "coven: cancelled by a cancel scope (its deadline passed or cancel() was "
                       "called)",
                       "interrupt at the scope's exit", "slept"}));
}
