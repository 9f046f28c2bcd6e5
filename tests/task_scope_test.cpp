// task_scope: the structured-concurrency core and traio's Scope semantics (R1-R9, R11, R4).
#include <coven/event.hpp>
#include <coven/task_scope.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;
using coven::task_scope;

namespace {

auto sleep_then_throw(double seconds, std::string what) -> task<void> {
    co_await coven::sleep(seconds);
    throw std::runtime_error(what);
}

/// Counts live children, so a test can check that a scope never ends before them.
struct counter {
    int live = 0;
    int max_live = 0;
};

auto counted(counter& c, double seconds) -> task<void> {
    ++c.live;
    c.max_live = std::max(c.max_live, c.live);
    struct on_exit {
        counter& c;
        ~on_exit() { --c.live; }
    } guard{c};
    co_await coven::sleep(seconds);
}

} // namespace

TEST(TaskScope, WithScopeWaitsForEveryChild) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({.timeout = 10s}, [&](task_scope& scope) -> task<void> {
            for (int i = 0; i < 10; ++i) {
                scope << counted(c, 3.0);
            }
            co_return;
        });
        EXPECT_EQ(c.live, 0);
        EXPECT_EQ(c.max_live, 10);
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ManualScopeEndsAfterFinalizeAndItsChildren) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        task_scope scope({.timeout = 10s});
        for (int i = 0; i < 10; ++i) {
            scope << counted(c, 3.0);
        }
        scope.finalize();
        co_await scope;
        EXPECT_TRUE(scope.done());
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, WithoutFinalizeAScopeEndsOnlyWhenCancelled) {
    coven::event_loop loop(virtual_options());
    auto canceller = [](task_scope& s) -> task<void> {
        co_await coven::sleep(5.0);
        EXPECT_FALSE(s.done()); // its child ended at 1.0, but it was not finalized
        EXPECT_EQ(s.size(), 0u);
        s.cancel();
    };
    auto main = [&]() -> task<void> {
        task_scope scope;
        scope << sleep_for(1.0);
        auto c = loop.create_task(canceller(scope));
        co_await scope; // quiet: cancel() raises nothing
        EXPECT_DOUBLE_EQ(loop.time(), 5.0);
        co_await c;
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, TimeoutCancelsTheChildrenAndRaisesTimeoutErrorOnceTheyUnwound) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        bool timed_out = false;
        try {
            co_await coven::with_scope({.timeout = 500ms}, [&](task_scope& scope) -> task<void> {
                scope << counted(c, 10.0);
                co_await coven::sleep(10.0); // the block is cancelled with the scope
                ADD_FAILURE() << "the block was not cancelled";
            });
        } catch (const coven::timeout_error&) {
            timed_out = true;
            EXPECT_EQ(c.live, 0);
        }
        EXPECT_TRUE(timed_out);
        EXPECT_DOUBLE_EQ(loop.time(), 0.5);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ABubblingErrorCancelsTheSiblingsAndIsRaised) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        try {
            co_await coven::with_scope({}, [&](task_scope& scope) -> task<void> {
                scope << counted(c, 10.0);
                scope << sleep_then_throw(1.0, "boom");
                co_return;
            });
            ADD_FAILURE() << "no error";
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "boom");
        }
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ANonBubblingErrorIsIgnoredAndTheTimeoutStillApplies) {
    // traio's bubble example: fetch_url runs 10 s, trivial fails at 0.01 s without bubbling, the
    // scope times out at 0.5 s.
    coven::event_loop loop(virtual_options());
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    auto main = [&]() -> task<void> {
        future<void> trivial;
        EXPECT_THROW(co_await coven::with_scope({.timeout = 500ms},
                                                [&](task_scope& n) -> task<void> {
                                                    n << sleep_for(10.0);
                                                    trivial = n.spawn(sleep_then_throw(0.01, "x"),
                                                                      {.bubble = false});
                                                    co_return;
                                                }),
                     coven::timeout_error);
        EXPECT_TRUE(trivial.done());
        EXPECT_THROW(trivial.result(), std::runtime_error); // kept in its future
        EXPECT_DOUBLE_EQ(loop.time(), 0.5);
    };
    loop.run_until_complete(main());
    coven::set_unobserved_exception_handler(nullptr);
}

TEST(TaskScope, AMasterTaskEndsTheScopeQuietly) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({.timeout = 500ms}, [&](task_scope& n) -> task<void> {
            n << sleep_for(10.0);
            n.spawn(sleep_for(0.01), {.master = true});
            co_return;
        });
        EXPECT_DOUBLE_EQ(loop.time(), 0.01);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, NotBubblingAndMasterExitsSilentlyEvenOnError) {
    coven::event_loop loop(virtual_options());
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
            n << sleep_for(10.0);
            n.spawn(sleep_then_throw(1.0, "ignored"), {.bubble = false, .master = true});
            co_return;
        });
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
    coven::set_unobserved_exception_handler(nullptr);
}

TEST(TaskScope, BackgroundTasksAreCancelledWhenTheAwaitedOnesAreDone) {
    coven::event_loop loop(virtual_options());
    int ticks = 0;
    auto background = [](int& ticks) -> task<void> {
        for (;;) {
            co_await coven::sleep(1.0);
            ++ticks;
        }
    };
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
            n.spawn(background(ticks), {.awaited = false});
            n << sleep_for(10.0);
            co_return;
        });
        EXPECT_DOUBLE_EQ(loop.time(), 10.0);
    };
    loop.run_until_complete(main());
    EXPECT_GE(ticks, 9);
}

TEST(TaskScope, AForkedScopeIsCancelledWithItsParent) {
    // traio's nested example: the parent times out at 0.2 s, before the inner scope's 0.5 s, and
    // cancels it; the block waiting for the inner scope is cancelled with the parent.
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        bool after_inner = false;
        bool inner_timed_out = true;
        EXPECT_THROW(co_await coven::with_scope({.name = "parent", .timeout = 200ms},
                                                [&](task_scope& parent) -> task<void> {
                                                    task_scope inner = parent.fork(
                                                        {.name = "inner", .timeout = 500ms});
                                                    inner << counted(c, 10.0);
                                                    inner.finalize();
                                                    try {
                                                        co_await inner;
                                                    } catch (const coven::cancelled_error&) {
                                                        inner_timed_out = inner.timed_out();
                                                        EXPECT_TRUE(inner.done());
                                                        throw;
                                                    }
                                                    after_inner = true;
                                                }),
                     coven::timeout_error);
        EXPECT_FALSE(after_inner);
        EXPECT_FALSE(inner_timed_out); // cancelled by its parent, not by its own timeout
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 0.2);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, CurrentFollowsTheTask) {
    coven::event_loop loop(virtual_options());
    auto helper = [](task_scope* expected, bool& checked) -> task<void> {
        EXPECT_EQ(task_scope::current(), expected);
        co_await coven::sleep(0.1);
        EXPECT_EQ(task_scope::current(), expected); // still, after a suspension
        checked = true;
    };
    auto main = [&]() -> task<void> {
        EXPECT_EQ(task_scope::current(), nullptr);
        bool in_child = false;
        bool in_fork_child = false;
        co_await coven::with_scope({.name = "outer"}, [&](task_scope& outer) -> task<void> {
            EXPECT_EQ(task_scope::current(), &outer);
            outer << helper(&outer, in_child);
            co_await coven::with_scope({.name = "nested"}, [&](task_scope& nested) -> task<void> {
                EXPECT_EQ(task_scope::current(), &nested);
                nested << helper(&nested, in_fork_child);
                co_return;
            });
            EXPECT_EQ(task_scope::current(), &outer);
        });
        EXPECT_TRUE(in_child);
        EXPECT_TRUE(in_fork_child);
        EXPECT_EQ(task_scope::current(), nullptr);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, AwaitingAChildYourselfTurnsItsBubblingOff) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        bool caught = false;
        co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
            auto f = n.spawn(sleep_then_throw(1.0, "mine"));
            try {
                co_await f;
            } catch (const std::runtime_error&) {
                caught = true;
            }
        });
        EXPECT_TRUE(caught); // and the scope raised nothing
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, EveryErrorIsReportedWhenSeveralChildrenFail) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        std::vector<std::string> whats;
        try {
            co_await coven::with_scope({.on_error = coven::error_mode::keep_going},
                                       [&](task_scope& n) -> task<void> {
                                           n << sleep_then_throw(1.0, "first");
                                           n << sleep_then_throw(2.0, "second");
                                           n << sleep_for(3.0); // keeps going
                                           co_return;
                                       });
        } catch (const coven::aggregate_error& e) {
            for (const auto& ep : e.errors()) {
                try {
                    std::rethrow_exception(ep);
                } catch (const std::exception& x) {
                    whats.push_back(x.what());
                }
            }
        }
        EXPECT_EQ(whats, (std::vector<std::string>{"first", "second"}));
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ExitModeCancelCancelsUnfinishedChildrenQuietly) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({.on_exit = coven::exit_mode::cancel},
                                   [&](task_scope& n) -> task<void> {
                                       n << counted(c, 10.0);
                                       co_await coven::sleep(1.0);
                                   });
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ABlockErrorCancelsTheChildrenAndIsRaisedWithTheirs) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto failing_cleanup = []() -> task<void> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            throw std::runtime_error("cleanup failed");
        }
    };
    auto main = [&]() -> task<void> {
        std::size_t count = 0;
        try {
            co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
                n << counted(c, 10.0);
                n << failing_cleanup();
                co_await coven::sleep(1.0);
                throw std::logic_error("block failed");
            });
        } catch (const coven::aggregate_error& e) {
            count = e.errors().size();
        }
        EXPECT_EQ(count, 2u); // the block's error first, then the child's
        EXPECT_EQ(c.live, 0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, CancellingTheAwaiterCancelsTheScopeAndWaitsForItsChildren) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto worker = [](counter& c) -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
            n << counted(c, 10.0);
            n << counted(c, 20.0);
            co_return;
        });
    };
    auto main = [&]() -> task<void> {
        auto w = loop.create_task(worker(c));
        co_await coven::sleep(1.0);
        EXPECT_EQ(c.live, 2);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, ACancelScopeAroundTheWholeScopeReachesItsChildren) {
    coven::event_loop loop(virtual_options());
    counter c;
    auto main = [&]() -> task<void> {
        bool finished = co_await coven::move_on_after(2s, [&]() -> task<void> {
            co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
                n << counted(c, 10.0);
                co_return;
            });
        });
        EXPECT_FALSE(finished);
        EXPECT_EQ(c.live, 0);
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, TheLoggerTracesTheLifeCycleWithNames) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> lines;
    auto log = [&](std::string_view l) { lines.emplace_back(l); };
    auto main = [&]() -> task<void> {
        co_await coven::with_scope(
            {.name = "main", .logger = log}, [&](task_scope& n) -> task<void> {
                n.spawn(sleep_for(1.0), "fetch"); // as create_task(t, "fetch")
                co_return;
            });
    };
    loop.run_until_complete(main());
    EXPECT_EQ(lines,
              (std::vector<std::string>{"scope 'main': spawned fetch", "scope 'main': finalized",
                                        "scope 'main': fetch finished", "scope 'main': done"}));
}

TEST(TaskScope, SpawningIntoAnEndedScopeIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_scope scope;
        scope.finalize();
        co_await scope;
        EXPECT_THROW((void)scope.spawn(sleep_for(1.0)), coven::usage_error);
    };
    loop.run_until_complete(main());
    EXPECT_THROW(task_scope{}, coven::usage_error); // no loop on this thread
}

TEST(TaskScope, LoopStopWithLiveScopesDrainsWithoutHanging) {
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    counter c;
    auto server = [](counter& c) -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
            for (int i = 0; i < 5; ++i) {
                n << counted(c, 100.0 + i);
            }
            task_scope inner = n.fork({});
            inner << counted(c, 50.0);
            co_await inner; // never finalized: ends when cancelled
        });
    };
    auto main = [&]() -> task<void> {
        loop->create_task(server(c));
        co_await coven::sleep(1.0);
        EXPECT_EQ(c.live, 6);
    };
    loop->run_until_complete(main());
    loop.reset();
    EXPECT_EQ(c.live, 0);
}

TEST(TaskScope, AStuckTaskWithALiveScopeThatAFutureOutlivesItsLoopIsDestroyedAtStop) {
    // The task ignores cancellation inside a scope; its future outlives the loop. Its frame, and
    // the scope's destructor with it, must go at stop, while the loop lives (ASan checks it).
    auto loop = std::make_unique<coven::event_loop>(virtual_options());
    counter c;
    coven::event never;
    auto stubborn = [](counter& c, coven::event& never) -> task<void> {
        task_scope scope({.timeout = 1000s});
        scope << counted(c, 100.0);
        for (;;) {
            try {
                co_await never.wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    auto f = loop->create_task(stubborn(c, never));
    loop->run_until_complete(sleep_for(1.0));
    EXPECT_EQ(c.live, 1);
    loop->stop();
    EXPECT_EQ(c.live, 0);
    EXPECT_TRUE(f.cancelled());
    loop.reset();
    EXPECT_TRUE(f.done());
}

// TESTING.md #8: seeded random task trees. Every child counts itself in its parent's counter,
// which lives in the parent's frame: a scope that returned early would be caught by the count
// (and a child touching a dead frame by ASan).
namespace {

struct tree_stats {
    int live = 0; // every task of the tree
    bool violated = false;
};

struct live_guard {
    int& parent;
    tree_stats& st;
    live_guard(int& p, tree_stats& s) : parent(p), st(s) {
        ++parent;
        ++st.live;
    }
    ~live_guard() {
        --parent;
        --st.live;
    }
    live_guard(const live_guard&) = delete;
    auto operator=(const live_guard&) -> live_guard& = delete;
};

auto random_leaf(std::uint64_t seed, int& parent_live, tree_stats& st) -> task<void> {
    live_guard guard(parent_live, st);
    std::mt19937_64 rng(seed);
    co_await coven::sleep(static_cast<double>(rng() % 100) / 10.0);
    switch (rng() % 4) {
    case 0:
        throw std::runtime_error("leaf failed");
    case 1:
        throw coven::cancelled_error(); // ends cancelled by itself
    default:
        break;
    }
}

auto random_node(std::uint64_t seed, int depth, int& parent_live, tree_stats& st) -> task<void> {
    live_guard guard(parent_live, st);
    std::mt19937_64 rng(seed);
    const auto on_error = rng() % 2 ? coven::error_mode::cancel : coven::error_mode::keep_going;
    const double timeout = rng() % 3 == 0 ? static_cast<double>(rng() % 50) / 10.0 : 1e9;
    int children_live = 0;
    try {
        co_await coven::with_scope(
            {.timeout = std::chrono::duration_cast<coven::event_loop::duration>(
                 std::chrono::duration<double>(timeout)),
             .on_error = on_error},
            [&](task_scope& n) -> task<void> {
                const int children = 1 + static_cast<int>(rng() % 4);
                for (int i = 0; i < children; ++i) {
                    const std::uint64_t child_seed = rng();
                    if (depth > 0 && rng() % 2) {
                        n << random_node(child_seed, depth - 1, children_live, st);
                    } else {
                        n.spawn(random_leaf(child_seed, children_live, st),
                                {.bubble = rng() % 4 != 0, .awaited = rng() % 5 != 0});
                    }
                }
                co_await coven::sleep(static_cast<double>(rng() % 30) / 10.0);
            });
    } catch (...) {
    }
    if (children_live != 0) {
        st.violated = true; // the scope returned while one of its children still ran
    }
}

} // namespace

TEST(TaskScope, RandomTreesNeverEndBeforeTheirChildrenAndLeakNothing) {
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        coven::event_loop loop(virtual_options());
        tree_stats st;
        int root_live = 0;
        loop.run_until_complete(random_node(seed, 3, root_live, st));
        EXPECT_FALSE(st.violated) << seed;
        EXPECT_EQ(st.live, 0) << seed;
    }
    coven::set_unobserved_exception_handler(nullptr);
}

// --- regressions from review ------------------------------------------------------------------

TEST(TaskScope, CancellingAParentEndsEveryForkEvenThoseThatEndAtOnce) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_scope parent;
        task_scope a = parent.fork();
        task_scope b = parent.fork();
        task_scope c = parent.fork();
        parent.cancel(); // each fork ends at once and leaves the parent's list meanwhile
        EXPECT_TRUE(a.done());
        EXPECT_TRUE(b.done());
        EXPECT_TRUE(c.done());
        EXPECT_TRUE(parent.done());
        co_await parent;
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, FailuresAreRaisedNotDroppedWhenTheWaiterIsCancelledAndTheCancelStaysPending) {
    coven::event_loop loop(virtual_options());
    auto failing_cleanup = []() -> task<void> {
        try {
            co_await coven::sleep(10.0);
        } catch (const coven::cancelled_error&) {
            throw std::runtime_error("cleanup failed");
        }
    };
    auto worker = [&](std::string& seen, bool& next_raised) -> task<void> {
        try {
            co_await coven::with_scope({}, [&](task_scope& n) -> task<void> {
                n << failing_cleanup();
                co_await coven::sleep(10.0);
            });
        } catch (const std::runtime_error& e) {
            seen = e.what();
        }
        try {
            co_await coven::skip_ready_cycle();
        } catch (const coven::cancelled_error&) {
            next_raised = true;
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        std::string seen;
        bool next_raised = false;
        auto w = loop.create_task(worker(seen, next_raised));
        co_await coven::sleep(1.0);
        w.cancel();
        EXPECT_THROW(co_await w, coven::cancelled_error);
        EXPECT_EQ(seen, "cleanup failed");
        EXPECT_TRUE(next_raised);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, AWaiterResumingAfterTheScopeWasDestroyedTouchesNothing) {
    coven::event_loop loop(virtual_options());
    auto other_waiter = [](task_scope* s, bool& ok) -> task<void> {
        co_await *s; // woken together with the owner, which destroys the scope first
        ok = true;
    };
    auto main = [&]() -> task<void> {
        bool ok = false;
        future<void> w;
        {
            task_scope scope;
            scope << sleep_for(1.0);
            scope.finalize();
            w = loop.create_task(other_waiter(&scope, ok));
            co_await coven::skip_ready_cycle(); // w parks on the scope first
            co_await scope;
        } // destroyed here, before w resumes
        co_await w;
        EXPECT_TRUE(ok);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, TheTimeoutDoesNotFireWhileBackgroundTasksUnwindAfterTheWorkIsDone) {
    coven::event_loop loop(virtual_options());
    auto slow_to_stop = []() -> task<void> {
        try {
            co_await coven::sleep(100.0);
        } catch (const coven::cancelled_error&) {
        }
        coven::cancel_scope cleanup;
        cleanup.set_shield(true);
        co_await cleanup.run(sleep_for(2.0)); // from t=1 to t=3, across the timeout at 2
    };
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({.timeout = 2s}, [&](task_scope& n) -> task<void> {
            n.spawn(slow_to_stop(), {.awaited = false});
            n << sleep_for(1.0);
            co_return;
        }); // no timeout_error: the awaited work was done at t=1
        EXPECT_DOUBLE_EQ(loop.time(), 3.0);
    };
    loop.run_until_complete(main());
}

TEST(TaskScope, MisuseIsAUsageErrorOrAnImmediateCancel) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        task_scope done_scope;
        done_scope.finalize();
        co_await done_scope;
        EXPECT_THROW((void)done_scope.fork(), coven::usage_error);

        task_scope cancelled;
        cancelled.cancel();
        EXPECT_TRUE(cancelled.done());
        auto f = cancelled.spawn(sleep_for(1.0)); // ended by cancellation: cancelled at once
        EXPECT_THROW(co_await f, coven::cancelled_error);
        task_scope fork = cancelled.fork(); // likewise: a child scope that starts cancelled
        EXPECT_TRUE(fork.cancel_called());
        EXPECT_TRUE(fork.done());
        co_await fork;

        task_scope running;
        bool threw = false;
        loop.call_soon_threadsafe([] {}); // keep the loop busy while the thread runs
        std::thread([&] {
            try {
                running.cancel();
            } catch (const coven::usage_error&) {
                threw = true;
            }
        }).join();
        EXPECT_TRUE(threw);
        running.cancel();
        co_await running;
    };
    loop.run_until_complete(main());
}

// A with_scope() block is part of its scope: cancelled with no child left, the scope has not
// ended while the block runs, so fork() and spawn() give cancelled children instead of an error.
TEST(TaskScope, AScopeIsNotDoneWhileItsBlockRunsEvenCancelledWithNoChildLeft) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& s) -> task<void> {
            s.cancel();
            EXPECT_FALSE(s.done());
            EXPECT_TRUE(s.cancel_called());
            task_scope inner = s.fork();
            EXPECT_TRUE(inner.cancel_called());
            auto f = s.spawn(sleep_for(1.0));
            EXPECT_THROW(co_await f, coven::cancelled_error); // (the block's own await raises)
            log.push_back("block ran on");
            EXPECT_FALSE(s.done());
        });
        log.push_back("scope ended");
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"block ran on", "scope ended"}));
}

// The same with a child that is still unwinding when the block is cancelled, and with a block
// that finalizes its scope itself: the scope ends when both the block and the children are done.
TEST(TaskScope, AScopeThatIsFinalizedInsideItsBlockEndsAfterTheBlock) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        co_await coven::with_scope({}, [&](task_scope& s) -> task<void> {
            s << sleep_for(1.0);
            s.finalize();
            co_await coven::sleep(2.0); // the child ends at t=1; the block runs on
            EXPECT_FALSE(s.done());
            log.push_back("block done");
        });
        log.push_back("scope ended");
        EXPECT_DOUBLE_EQ(loop.time(), 2.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"block done", "scope ended"}));
}

// A scope made outside any task outlives a loop stop that destroys its stuck child: with the
// child gone it ends, and awaiting it afterwards returns instead of waiting forever.
TEST(TaskScope, AScopeWhoseStuckChildTheStopDestroyedEndsAndCanBeAwaited) {
    watchdog dog("awaiting a scope after its stuck child was destroyed", 20);
    coven::event_loop loop(virtual_options());
    coven::event ev;
    auto stubborn = [](coven::event& ev) -> task<void> {
        for (;;) {
            try {
                co_await ev.wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    task_scope scope(loop, {});
    scope << stubborn(ev);
    scope.finalize();
    loop.run_until_complete(sleep_for(1.0));
    loop.stop(); // cancels it twice, then destroys it
    EXPECT_TRUE(scope.done());
    EXPECT_EQ(scope.size(), 0u);
    loop.run_until_complete([](task_scope& s) -> task<void> { co_await s; }(scope));
}

// A scope belongs to its loop: a task of another loop that awaits it is refused, instead of being
// woken (and cancelling the scope) from the wrong thread.
TEST(TaskScope, AwaitingAScopeFromATaskOfAnotherLoopIsAUsageError) {
    coven::event_loop a(virtual_options());
    coven::event_loop b(virtual_options());
    task_scope scope(a, {});
    scope << sleep_for(1.0); // (made by the thread that owns `a`, which nobody drives)
    scope.finalize();
    b.run_until_complete(
        [](task_scope& s) -> task<void> { EXPECT_THROW(co_await s, coven::usage_error); }(scope));
    a.run_until_complete([](task_scope& s) -> task<void> { co_await s; }(scope));
    EXPECT_TRUE(scope.done());
}
