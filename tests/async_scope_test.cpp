// async_scope (T5-T10): async-tamer's AsyncScope, blocking and async forms, exit and error
// modes, nesting, and no failure left behind; delayed_result (T4).
#include <coven/async_scope.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::async_scope;
using coven::delayed_result;
using coven::task;

namespace {

/// The blocking form runs on this_thread_loop(), which takes the default loop's options: the
/// virtual clock here. The listener destroys the thread's loop after each test.
class AsyncScope : public ::testing::Test {
protected:
    void SetUp() override { coven::set_default_loop_options(virtual_options()); }
    void TearDown() override { coven::set_default_loop_options({}); }
    static auto now() -> double { return coven::this_thread_loop().time(); }
};

struct event {
    std::string what;
    double at;
};

auto record(std::vector<event>& log, std::string what, double seconds) -> task<void> {
    co_await coven::sleep(seconds);
    log.push_back({std::move(what), coven::current_loop()->time()});
}

auto fail_after(double seconds, std::string what) -> task<void> {
    co_await coven::sleep(seconds);
    throw std::runtime_error(what);
}

auto value_after(double seconds, int v) -> task<int> {
    co_await coven::sleep(seconds);
    co_return v;
}

auto forever(int& ticks) -> task<void> {
    for (;;) {
        co_await coven::sleep(1.0);
        ++ticks;
    }
}

auto plus_one(delayed_result<int> r) -> task<int> {
    co_return co_await r + 1;
}

auto names(const std::vector<event>& log) -> std::vector<std::string> {
    std::vector<std::string> out;
    for (const auto& e : log) {
        out.push_back(e.what);
    }
    return out;
}

auto messages(const coven::aggregate_error& e) -> std::vector<std::string> {
    std::vector<std::string> out;
    for (const auto& p : e.errors()) {
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& x) {
            out.emplace_back(x.what());
        }
    }
    return out;
}

} // namespace

TEST_F(AsyncScope, TheEndOfTheBlockWaitsForEveryFunction) {
    std::vector<event> log;
    {
        async_scope scope;
        scope.spawn(record(log, "1", 1.0));
        scope.spawn(record(log, ".1", 0.1));
        scope.spawn(record(log, ".5", 0.5));
        EXPECT_EQ(scope.size(), 3u);
    }
    EXPECT_EQ(names(log), (std::vector<std::string>{".1", ".5", "1"}));
    EXPECT_DOUBLE_EQ(log.back().at, 1.0);
    EXPECT_DOUBLE_EQ(now(), 1.0);
}

TEST_F(AsyncScope, FunctionsStartOnlyWhenTheThreadBlocks) {
    std::vector<event> log;
    async_scope scope;
    scope.spawn(record(log, "a", 0.0));
    EXPECT_TRUE(log.empty()); // synchronous code runs on until it blocks
    scope.close();
    EXPECT_EQ(names(log), std::vector<std::string>{"a"});
    scope.close(); // once is enough
}

TEST_F(AsyncScope, ValueBeforeArrivalThrowsNotReadyAndBlockWaitsForIt) {
    async_scope scope;
    delayed_result<int> r = scope.spawn(value_after(0.5, 7));
    EXPECT_FALSE(r.ready());
    EXPECT_THROW((void)r.value(), coven::not_ready_error);
    EXPECT_EQ(r.block(), 7);
    EXPECT_DOUBLE_EQ(now(), 0.5);
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.value(), 7);
}

TEST_F(AsyncScope, AResultOutlivesItsScope) {
    delayed_result<int> r;
    {
        async_scope scope;
        r = scope.spawn(value_after(0.1, 42));
    }
    EXPECT_EQ(r.value(), 42);
}

TEST_F(AsyncScope, ADelayedResultPassedToAnotherFunctionIsAwaitedThere) {
    async_scope scope;
    auto raw = scope.spawn(value_after(0.1, 1));
    auto processed = scope.spawn(plus_one(raw));
    EXPECT_THROW((void)processed.value(), coven::not_ready_error);
    EXPECT_EQ(processed.block(), 2);
    EXPECT_DOUBLE_EQ(now(), 0.1);
}

TEST_F(AsyncScope, AnOuterScopesFunctionsRunWhileAnInnerScopeIsWaitedFor) {
    // The seed's nested example (T7), with its times.
    std::vector<event> log;
    {
        async_scope outer;
        outer.spawn(record(log, "outer 1.5", 1.5));
        outer.spawn(record(log, "outer 1", 1.0));
        {
            async_scope inner;
            inner.spawn(record(log, "inner 2", 2.0));
            inner.spawn(record(log, "inner 1", 1.0));
        }
        EXPECT_DOUBLE_EQ(now(), 2.0); // code after the inner scope runs after its functions
        outer.spawn(record(log, "outer .5", 0.5));
    }
    EXPECT_EQ(names(log),
              (std::vector<std::string>{"outer 1", "inner 1", "outer 1.5", "inner 2", "outer .5"}));
    EXPECT_DOUBLE_EQ(log.back().at, 2.5);
}

TEST_F(AsyncScope, ExitModeCancelCancelsWhatIsStillRunningAtTheEnd) {
    int ticks = 0;
    std::vector<event> log;
    {
        async_scope service({.on_exit = coven::exit_mode::cancel});
        service.spawn(forever(ticks));
        {
            async_scope batch;
            batch.spawn(record(log, "job", 3.5));
        }
    }
    EXPECT_EQ(ticks, 3);
    EXPECT_DOUBLE_EQ(now(), 3.5); // ended at once, not at the next tick
}

TEST_F(AsyncScope, ExitModeWaitWaitsEvenForALongFunction) {
    std::vector<event> log;
    {
        async_scope scope; // exit_mode::wait is the default
        scope.spawn(record(log, "slow", 30.0));
    }
    EXPECT_DOUBLE_EQ(log.at(0).at, 30.0);
}

TEST_F(AsyncScope, ErrorModeCancelCancelsTheOthersAndRaisesTheFailureAtTheEnd) {
    std::vector<event> log;
    auto run = [&] {
        async_scope scope;
        scope.spawn(record(log, "late", 5.0));
        scope.spawn(fail_after(1.0, "boom"));
    };
    try {
        run();
        ADD_FAILURE() << "the failure was left behind";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "boom");
    }
    EXPECT_TRUE(log.empty());
    EXPECT_DOUBLE_EQ(now(), 1.0);
}

TEST_F(AsyncScope, ErrorModeKeepGoingLetsTheOthersRunAndRaisesEveryFailure) {
    std::vector<event> log;
    auto run = [&] {
        async_scope scope({.on_error = coven::error_mode::keep_going});
        scope.spawn(fail_after(1.0, "first"));
        scope.spawn(record(log, "late", 5.0));
        scope.spawn(fail_after(2.0, "second"));
    };
    try {
        run();
        ADD_FAILURE() << "the failures were left behind";
    } catch (const coven::aggregate_error& e) {
        EXPECT_EQ(messages(e), (std::vector<std::string>{"first", "second"}));
    }
    EXPECT_EQ(names(log), std::vector<std::string>{"late"});
    EXPECT_DOUBLE_EQ(now(), 5.0);
}

TEST_F(AsyncScope, AFailureHandledThroughBlockIsNotRaisedAgain) {
    async_scope scope;
    auto r = scope.spawn(fail_after(0.1, "oh no"));
    EXPECT_THROW(r.block(), std::runtime_error);
    EXPECT_THROW(r.value(), std::runtime_error); // still the function's outcome
    EXPECT_NO_THROW(scope.close());
}

TEST_F(AsyncScope, AFailureAwaitedByAnotherFunctionCountsAsHandled) {
    auto consume = [](delayed_result<int> r) -> task<int> {
        try {
            co_return co_await r;
        } catch (const std::runtime_error&) {
            co_return -1;
        }
    };
    // keep_going: under error_mode::cancel the failure would cancel the consumer first.
    async_scope scope({.on_error = coven::error_mode::keep_going});
    auto bad = scope.spawn([]() -> task<int> {
        co_await coven::sleep(0.1);
        throw std::runtime_error("bad");
    }());
    auto handled = scope.spawn(consume(bad));
    EXPECT_NO_THROW(scope.close());
    EXPECT_EQ(handled.value(), -1);
}

TEST_F(AsyncScope, AFailureNobodyWaitedForIsRaisedAtTheEnd) {
    auto run = [] {
        async_scope scope;
        scope.spawn(fail_after(0.0, "Oh no!"));
    };
    EXPECT_THROW(run(), std::runtime_error);
}

TEST_F(AsyncScope, AnExceptionLeavingTheBlockCancelsTheFunctionsAndReportsTheirFailures) {
    static std::vector<std::string> reported;
    reported.clear();
    coven::set_unobserved_exception_handler([](std::exception_ptr e, const std::string&) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            reported.emplace_back(x.what());
        }
    });
    std::vector<event> log;
    try {
        async_scope scope({.on_error = coven::error_mode::keep_going});
        scope.spawn(record(log, "never", 5.0));
        auto r = scope.spawn(fail_after(0.1, "child failed"));
        (void)r.block(); // throws: the block is left with the child's error...
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "child failed");
    }
    coven::set_unobserved_exception_handler(nullptr);
    EXPECT_TRUE(log.empty());      // ...and the other function was cancelled, not waited for
    EXPECT_TRUE(reported.empty()); // handled by block(): nothing left to report

    coven::set_unobserved_exception_handler([](std::exception_ptr e, const std::string&) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            reported.emplace_back(x.what());
        }
    });
    try {
        async_scope scope({.on_error = coven::error_mode::keep_going});
        scope.spawn(fail_after(0.0, "unhandled"));
        scope.spawn(value_after(0.5, 1)).block();
        throw std::logic_error("the block's own error");
    } catch (const std::logic_error&) {
    }
    coven::set_unobserved_exception_handler(nullptr);
    EXPECT_EQ(reported, std::vector<std::string>{"unhandled"}); // not lost
}

TEST_F(AsyncScope, BlockingWhereItWouldStallALoopIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_THROW(async_scope scope, coven::usage_error);
        co_await coven::with_async_scope({}, [](async_scope& scope) -> task<> {
            auto r = scope.spawn(value_after(0.1, 1));
            EXPECT_THROW((void)r.block(), coven::usage_error);
            EXPECT_THROW(scope.close(), coven::usage_error);
            EXPECT_EQ(co_await r, 1);
        });
    };
    loop.run_until_complete(main());
}

TEST_F(AsyncScope, SpawningIntoAnEndedScopeIsAUsageError) {
    async_scope scope;
    scope.close();
    EXPECT_THROW(scope.spawn(value_after(0.0, 1)), coven::usage_error);
}

TEST_F(AsyncScope, TheAsyncFormWaitsForItsFunctionsAndNests) {
    std::vector<event> log;
    auto bulk = [&]() -> task<void> {
        co_await coven::with_async_scope({}, [&](async_scope& outer) -> task<> {
            outer.spawn(record(log, "outer 1.5", 1.5));
            outer.spawn(record(log, "outer 1", 1.0));
            co_await coven::with_async_scope({}, [&](async_scope& inner) -> task<> {
                inner.spawn(record(log, "inner 2", 2.0));
                inner.spawn(record(log, "inner 1", 1.0));
                co_return;
            });
            outer.spawn(record(log, "outer .5", 0.5));
        });
    };
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(bulk());
    EXPECT_EQ(names(log),
              (std::vector<std::string>{"outer 1", "inner 1", "outer 1.5", "inner 2", "outer .5"}));
    EXPECT_DOUBLE_EQ(loop.time(), 2.5);
}

TEST_F(AsyncScope, TheAsyncFormRaisesTheBodysErrorTogetherWithTheFunctions) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::with_async_scope(
            {.on_error = coven::error_mode::keep_going}, [](async_scope& scope) -> task<> {
                scope.spawn(fail_after(0.0, "child"));
                scope.spawn(value_after(10.0, 1)); // cancelled when the body throws
                co_await coven::sleep(0.5);
                throw std::runtime_error("body");
            });
    };
    try {
        loop.run_until_complete(main());
        ADD_FAILURE() << "nothing raised";
    } catch (const coven::aggregate_error& e) {
        EXPECT_EQ(messages(e), (std::vector<std::string>{"body", "child"}));
    }
    EXPECT_DOUBLE_EQ(loop.time(), 0.5);
}

TEST_F(AsyncScope, CancellingTheTaskOfTheAsyncFormCancelsItsFunctions) {
    coven::event_loop loop(virtual_options());
    std::vector<event> log;
    auto main = [&]() -> task<void> {
        co_await coven::with_async_scope({}, [&](async_scope& scope) -> task<> {
            scope.spawn(record(log, "never", 10.0));
            co_return;
        });
    };
    auto outer = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(main());
        co_await coven::sleep(1.0);
        f.cancel();
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(outer());
    EXPECT_TRUE(log.empty());
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST_F(AsyncScope, ACancelledWaiterLeavesWithoutCancellingTheFunction) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::with_async_scope({}, [&](async_scope& scope) -> task<> {
            auto r = scope.spawn(value_after(2.0, 5));
            auto waiter = [](delayed_result<int> result) -> task<int> {
                co_return co_await result;
            };
            auto w = coven::current_loop()->create_task(waiter(r));
            co_await coven::sleep(1.0);
            w.cancel();
            co_await w.wait();
            EXPECT_TRUE(w.cancelled()); // woken once, by its cancel, at 1 s
            EXPECT_DOUBLE_EQ(coven::current_loop()->time(), 1.0);
            EXPECT_FALSE(r.ready()); // the function runs on: the result is there for others
            EXPECT_EQ(co_await r, 5);
            EXPECT_DOUBLE_EQ(coven::current_loop()->time(), 2.0);
        });
    };
    loop.run_until_complete(main());
}

TEST_F(AsyncScope, CancelEndsTheScopeQuietly) {
    int ticks = 0;
    async_scope scope;
    scope.spawn(forever(ticks));
    auto stopper = scope.spawn([](async_scope& s) -> task<void> {
        co_await coven::sleep(2.5);
        s.cancel();
    }(scope));
    EXPECT_NO_THROW(scope.close());
    EXPECT_EQ(ticks, 2);
    EXPECT_TRUE(stopper.ready());
}

TEST_F(AsyncScope, CancellingTheAsyncFormWhileAFunctionHasFailedRaisesTheFailureAndKeepsTheCancel) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        try {
            co_await coven::with_async_scope({.on_error = coven::error_mode::keep_going},
                                             [](async_scope& scope) -> task<> {
                                                 scope.spawn(fail_after(0.0, "failed early"));
                                                 scope.spawn(value_after(10.0, 1));
                                                 co_return;
                                             });
        } catch (const std::runtime_error& e) {
            log.emplace_back(e.what());
        }
        try {
            co_await coven::sleep(5.0); // the cancellation is still pending: raised here
            log.emplace_back("not cancelled");
        } catch (const coven::cancelled_error&) {
            log.emplace_back("cancelled");
        }
    };
    auto outer = [&]() -> task<void> {
        auto f = coven::current_loop()->create_task(main());
        co_await coven::sleep(1.0);
        f.cancel();
        co_await f.wait();
    };
    loop.run_until_complete(outer());
    EXPECT_EQ(log, (std::vector<std::string>{"failed early", "cancelled"}));
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST_F(AsyncScope, AFunctionMaySpawnIntoItsOwnScopeWhileTheEndWaits) {
    std::vector<event> log;
    {
        async_scope scope;
        scope.spawn([](async_scope& s, std::vector<event>& l) -> task<void> {
            co_await coven::sleep(1.0);
            s.spawn(record(l, "sibling", 1.0));
        }(scope, log));
    }
    EXPECT_EQ(names(log), std::vector<std::string>{"sibling"});
    EXPECT_DOUBLE_EQ(now(), 2.0);
}

TEST_F(AsyncScope, SpawningAfterACancelledScopeHasUnwoundIsAUsageError) {
    async_scope scope;
    auto bad = scope.spawn(fail_after(0.0, "x"));
    EXPECT_THROW(bad.block(), std::runtime_error); // handled; the scope was cancelled by it
    EXPECT_THROW(scope.spawn(value_after(0.0, 1)), coven::usage_error);
    EXPECT_NO_THROW(scope.close());
}

TEST_F(AsyncScope, FailuresOfTasksSpawnedOnTheCoreAreRaisedAtTheEnd) {
    auto run = [] {
        async_scope scope;
        scope.core() << fail_after(0.5, "from the core");
    };
    try {
        run();
        ADD_FAILURE() << "the core task's failure was dropped";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "from the core");
    }
}

TEST_F(AsyncScope, TheResultOfACancelledFunctionIsCancelledError) {
    async_scope scope;
    auto r = scope.spawn(value_after(5.0, 1));
    scope.cancel();
    scope.close();
    EXPECT_TRUE(r.ready());
    EXPECT_THROW((void)r.value(), coven::cancelled_error);
    EXPECT_TRUE(r.as_future().cancelled());
}

TEST_F(AsyncScope, UnwindingWithTheDefaultErrorModeCancelsEverythingAndHangsNothing) {
    std::vector<event> log;
    try {
        async_scope outer;
        outer.spawn(record(log, "outer", 5.0));
        async_scope inner;
        inner.spawn(record(log, "inner", 5.0));
        throw std::logic_error("leaving");
    } catch (const std::logic_error&) {
    }
    EXPECT_TRUE(log.empty());
    EXPECT_DOUBLE_EQ(now(), 0.0);
}

TEST_F(AsyncScope, ATemporaryResultIsReturnedByValue) {
    async_scope scope;
    auto make = []() -> task<std::vector<int>> {
        co_await coven::sleep(0.1);
        co_return std::vector<int>{1, 2, 3};
    };
    int sum = 0;
    for (int x : scope.spawn(make()).block()) { // no reference into a freed frame (ASan)
        sum += x;
    }
    EXPECT_EQ(sum, 6);
}

TEST_F(AsyncScope, AMoveOnlyResultCanBeAwaited) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        co_await coven::with_async_scope({}, [](async_scope& scope) -> task<> {
            auto r = scope.spawn(
                []() -> task<std::unique_ptr<int>> { co_return std::make_unique<int>(9); }());
            std::unique_ptr<int> p = co_await r;
            EXPECT_EQ(*p, 9);
        });
    };
    loop.run_until_complete(main());
}

TEST_F(AsyncScope, EachThreadBlocksOnItsOwnLoop) {
    std::vector<event> here;
    std::vector<event> there;
    std::thread other([&] {
        async_scope scope;
        scope.spawn(record(there, "there", 2.0));
    });
    {
        async_scope scope;
        scope.spawn(record(here, "here", 1.0));
    }
    other.join();
    EXPECT_EQ(names(here), std::vector<std::string>{"here"});
    EXPECT_EQ(names(there), std::vector<std::string>{"there"});
    EXPECT_DOUBLE_EQ(here.at(0).at, 1.0);
    EXPECT_DOUBLE_EQ(there.at(0).at, 2.0); // a loop of its own: its own virtual time
}

TEST_F(AsyncScope, AFunctionAwaitingItsOwnResultIsAUsageError) {
    async_scope scope;
    auto slot = std::make_shared<delayed_result<int>>();
    *slot = scope.spawn([](std::shared_ptr<delayed_result<int>> self) -> task<int> {
        co_await coven::sleep(0.1);
        co_return co_await *self;
    }(slot));
    EXPECT_THROW((void)slot->block(), coven::usage_error);
    *slot = {}; // the frame holds `slot`: break the cycle so that the frame can go
}
