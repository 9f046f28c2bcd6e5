// Runs every seed example in-process on the virtual clock and checks each line it prints and
// the loop time at which it printed it (the seed's timing, exactly).
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

namespace coven_seed_scarletio_coroutines {
int main();
}
namespace coven_seed_scarletio_run {
int main();
}
namespace coven_seed_scarletio_loop {
int main();
}
namespace coven_seed_scarletio_tasks {
int main();
}
namespace coven_seed_scarletio_tasks_concurrent {
int main();
}
namespace coven_seed_scarletio_sleep_loop {
int main();
}
namespace coven_seed_scarletio_skip_ready_cycle {
int main();
}
namespace coven_seed_scarletio_skip_poll_cycle {
int main();
}
namespace coven_seed_scarletio_timeout {
int main();
}
namespace coven_seed_scarletio_repeat_timeout {
int main();
}
namespace coven_seed_traio_simple_scope {
int main();
}
namespace coven_seed_traio_manual_scope {
int main();
}
namespace coven_seed_traio_bubble {
int main();
}
namespace coven_seed_traio_master {
int main();
}
namespace coven_seed_traio_awaited {
int main();
}
namespace coven_seed_traio_nested_scope {
int main();
}
namespace coven_seed_traio_current_scope {
int main();
}
namespace coven_seed_scarletio_task_group {
int main();
}
namespace coven_seed_scarletio_task_cancellation {
int main();
}
namespace coven_seed_scarletio_sleep_future {
int main();
}
namespace coven_seed_tamer_usage {
int main();
}
namespace coven_seed_tamer_scope_execution {
int main();
}
namespace coven_seed_tamer_returning_results {
int main();
}
namespace coven_seed_tamer_delayed_result {
int main();
}
namespace coven_seed_tamer_nested_scopes {
int main();
}
namespace coven_seed_tamer_nested_async_scopes {
int main();
}
namespace coven_seed_tamer_rate_limiter {
int main();
}
namespace coven_seed_tamer_exceptions {
int main();
}
namespace coven_seed_tamer_no_exception_left_behind {
int main();
}
namespace coven_seed_asynkit_eager_task_group {
int main();
}
namespace coven_seed_scarletio_executor {
int main();
}
namespace coven_seed_traio_executor {
int main();
}
namespace coven_seed_scarletio_thread_safe {
int main();
}
namespace coven_seed_tamer_async_execution {
int main();
}
namespace coven_seed_tamer_sync_execution {
int main();
}
namespace coven_seed_asynkit_eager {
int main();
}
namespace coven_seed_asynkit_await_sync {
int main();
}
namespace coven_seed_asynkit_syncfunction {
int main();
}
namespace coven_seed_asynkit_task_interrupt {
int main();
}
namespace coven_seed_asynkit_aiter_sync {
int main();
}
namespace coven_seed_asynkit_coro_await {
int main();
}
namespace coven_seed_scarletio_lock {
int main();
}
namespace coven_seed_scarletio_scarlet_lock {
int main();
}
namespace coven_seed_scarletio_event {
int main();
}
namespace coven_example_shielded_cleanup {
int main();
}

namespace {

struct line {
    std::string text;
    double at; // loop time when the line ended; -1 when printed outside the loop's thread
};

/// Captures std::cout line by line, stamping each line with the printing loop's time.
class recording_buf : public std::streambuf {
public:
    std::function<void(std::size_t)> on_line; // called with the number of lines so far
    auto lines() -> std::vector<line> {
        std::lock_guard lock(m_mutex);
        return m_lines;
    }

protected:
    auto overflow(int_type ch) -> int_type override {
        if (ch == traits_type::eof()) {
            return 0;
        }
        std::size_t count = 0;
        {
            std::lock_guard lock(m_mutex);
            if (ch != '\n') {
                m_current.push_back(static_cast<char>(ch));
                return ch;
            }
            auto* loop = coven::current_loop();
            m_lines.push_back({m_current, loop ? loop->time() : -1.0});
            m_current.clear();
            count = m_lines.size();
        }
        if (on_line) {
            on_line(count);
        }
        return ch;
    }

private:
    std::mutex m_mutex;
    std::string m_current;
    std::vector<line> m_lines;
};

/// Runs `example` with std::cout captured and the default loop on the virtual clock.
auto capture(int (*example)(), std::function<void(std::size_t)> on_line = {},
             std::vector<line>* lines_out = nullptr) -> std::vector<line> {
    coven::set_default_loop_options({.clock = coven::clock_kind::virtual_time});
    recording_buf buf;
    buf.on_line = std::move(on_line);
    auto* old = std::cout.rdbuf(&buf);
    try {
        example();
    } catch (...) {
        std::cout.rdbuf(old);
        coven::set_default_loop_options({});
        if (lines_out) {
            *lines_out = buf.lines();
        }
        throw;
    }
    std::cout.rdbuf(old);
    coven::set_default_loop_options({});
    return buf.lines();
}

auto expected_lines(const std::string& name) -> std::vector<std::string> {
    const bool seed = name.rfind("scarletio_", 0) == 0 || name.rfind("traio_", 0) == 0 ||
                      name.rfind("tamer_", 0) == 0 || name.rfind("asynkit_", 0) == 0;
    std::ifstream in(std::string(seed ? COVEN_SEEDS_DIR : COVEN_EXAMPLES_DIR) + "/" + name +
                     ".expected");
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

void check(const std::string& name, int (*example)(), const std::vector<double>& times) {
    auto got = capture(example);
    auto want = expected_lines(name);
    ASSERT_EQ(got.size(), want.size()) << name;
    ASSERT_EQ(times.size(), want.size()) << name;
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].text, want[i]) << name << " line " << i;
        EXPECT_DOUBLE_EQ(got[i].at, times[i]) << name << " line " << i << ": " << got[i].text;
    }
}

} // namespace

TEST(SeedExamples, CoroutinesPrintHelloThenWorldOneSecondLater) {
    check("scarletio_coroutines", coven_seed_scarletio_coroutines::main, {-1.0, 0.0, 1.0});
}

TEST(SeedExamples, RunPrintsHelloThenWorldOneSecondLater) {
    check("scarletio_run", coven_seed_scarletio_run::main, {0.0, 1.0});
}

TEST(SeedExamples, LoopPrintsHelloThenWorldOneSecondLater) {
    check("scarletio_loop", coven_seed_scarletio_loop::main, {0.0, 1.0});
}

TEST(SeedExamples, TasksPrintHelloAfterOneSecond) {
    check("scarletio_tasks", coven_seed_scarletio_tasks::main, {1.0});
}

TEST(SeedExamples, ConcurrentTasksPrintAtOneAndTwoSeconds) {
    check("scarletio_tasks_concurrent", coven_seed_scarletio_tasks_concurrent::main, {1.0, 2.0});
}

TEST(SeedExamples, SkipReadyCyclePrintsHelloBeforeWorld) {
    check("scarletio_skip_ready_cycle", coven_seed_scarletio_skip_ready_cycle::main, {0.0, 0.0});
}

TEST(SeedExamples, SkipPollCyclePrintsHelloBeforeWorld) {
    check("scarletio_skip_poll_cycle", coven_seed_scarletio_skip_poll_cycle::main, {0.0, 0.0});
}

TEST(SeedExamples, TimeoutPrintsTimeoutAfterOneSecond) {
    check("scarletio_timeout", coven_seed_scarletio_timeout::main, {1.0});
}

TEST(SeedExamples, RepeatTimeoutSaysHiTwiceThenTimesOutInTheThirdIteration) {
    // hi after 2 s, hi after 4 more, then the 6-second wait overruns its 5 s: TIMEOUT! at 11.
    check("scarletio_repeat_timeout", coven_seed_scarletio_repeat_timeout::main, {2.0, 6.0, 11.0});
}

TEST(SeedExamples, TraioSimpleScopeWaitsForItsTenTasks) {
    check("traio_simple_scope", coven_seed_traio_simple_scope::main, {3.0});
}

TEST(SeedExamples, TraioManualScopeEndsAfterFinalize) {
    check("traio_manual_scope", coven_seed_traio_manual_scope::main, {3.0});
}

TEST(SeedExamples, TraioNonBubblingErrorLeavesTheScopeToTimeOut) {
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    check("traio_bubble", coven_seed_traio_bubble::main, {0.5});
    coven::set_unobserved_exception_handler(nullptr);
}

TEST(SeedExamples, TraioScopeDiesWithItsMasterTask) {
    check("traio_master", coven_seed_traio_master::main, {0.01});
}

TEST(SeedExamples, TraioBackgroundTaskIsCancelledWhenTheJobIsDone) {
    check("traio_awaited", coven_seed_traio_awaited::main, {10.0});
}

TEST(SeedExamples, TraioOuterTimeoutCancelsTheForkedScope) {
    check("traio_nested_scope", coven_seed_traio_nested_scope::main, {0.2});
}

TEST(SeedExamples, TraioHandlerForksTheCurrentScope) {
    check("traio_current_scope", coven_seed_traio_current_scope::main,
          {0.5, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0});
}

TEST(SeedExamples, TaskGroupPrintsHelloThenWorld) {
    check("scarletio_task_group", coven_seed_scarletio_task_group::main, {1.0, 2.0});
}

TEST(SeedExamples, TaskCancellationPrintsOnlyWorld) {
    check("scarletio_task_cancellation", coven_seed_scarletio_task_cancellation::main, {2.0});
}

TEST(SeedExamples, SleepFutureJoinsTheGroup) {
    check("scarletio_sleep_future", coven_seed_scarletio_sleep_future::main, {1.0, 2.0});
}

// async-tamer. Lines printed by synchronous code, outside any loop, are stamped -1.

TEST(SeedExamples, TamerUsageBlocksForTheSyncCallThenWaitsForTheScope) {
    // All on this thread's own loop: the synchronous call, then the scope.
    check("tamer_usage", coven_seed_tamer_usage::main, {0.5, 0.6, 0.7});
}

TEST(SeedExamples, TamerScopeFunctionsPrintInTheOrderTheirDelaysEnd) {
    check("tamer_scope_execution", coven_seed_tamer_scope_execution::main, {0.1, 0.5, 1.0});
}

TEST(SeedExamples, TamerResultsComeBackAwaitedImmediateAndDelayed) {
    // The async part prints inside its task (default loop); the others from main().
    check("tamer_returning_results", coven_seed_tamer_returning_results::main, {0.1, -1.0, -1.0});
}

TEST(SeedExamples, TamerAsyncCallsStartWhenAwaited) {
    check("tamer_async_execution", coven_seed_tamer_async_execution::main, {0.1, 0.6, 1.1});
}

TEST(SeedExamples, TamerSyncCallsBlockOneAfterTheOther) {
    check("tamer_sync_execution", coven_seed_tamer_sync_execution::main, {1.0, 1.1, 1.6});
}

TEST(SeedExamples, TamerDelayedResultIsNotReadyThenBlocksForIt) {
    check("tamer_delayed_result", coven_seed_tamer_delayed_result::main, {-1.0, -1.0});
}

TEST(SeedExamples, TamerOuterScopeRunsWhileTheInnerOneIsWaitedFor) {
    check("tamer_nested_scopes", coven_seed_tamer_nested_scopes::main, {1.0, 1.0, 1.5, 2.0, 2.5});
}

TEST(SeedExamples, TamerAsyncScopesNestTheSameWay) {
    check("tamer_nested_async_scopes", coven_seed_tamer_nested_async_scopes::main,
          {1.0, 1.0, 1.5, 2.0, 2.5});
}

TEST(SeedExamples, TamerRateLimiterLetsThreeThroughThenOnePerSecond) {
    check("tamer_rate_limiter", coven_seed_tamer_rate_limiter::main,
          {0.0, 0.0, 0.0, 1.0, 2.0, 3.0});
}

TEST(SeedExamples, TamerFailureIsHandledWhereTheCallIsWaitedFor) {
    check("tamer_exceptions", coven_seed_tamer_exceptions::main, {0.0, -1.0, -1.0});
}

TEST(SeedExamples, TamerFailureNobodyWaitedForIsRaisedAtTheScopesEnd) {
    check("tamer_no_exception_left_behind", coven_seed_tamer_no_exception_left_behind::main,
          {-1.0});
}

TEST(SeedExamples, AsynkitEagerTaskGroupRunsTheChildInsideStart) {
    // hello and fine before any suspension; goodbye after the child's 10 ms sleep.
    check("asynkit_eager_task_group", coven_seed_asynkit_eager_task_group::main,
          {0.0, 0.0, 0.0, 0.01, 0.01});
}

TEST(SeedExamples, ExecutorMovesTheBlockToAWorkerThreadAndBack) {
    // Thread ids differ from run to run: the test checks how the four relate.
    auto got = capture(coven_seed_scarletio_executor::main);
    ASSERT_EQ(got.size(), 4u);
    const char* labels[] = {
        "before entering: ", "after entering: ", "before exiting: ", "after exiting: "};
    std::string ids[4];
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(got[i].text.rfind(labels[i], 0), 0u) << got[i].text;
        ids[i] = got[i].text.substr(std::string(labels[i]).size());
        EXPECT_FALSE(ids[i].empty());
    }
    EXPECT_EQ(ids[0], ids[3]); // the loop's thread
    EXPECT_EQ(ids[1], ids[2]); // one worker
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_DOUBLE_EQ(got[0].at, 0.0);  // printed by the task, on the loop
    EXPECT_DOUBLE_EQ(got[1].at, -1.0); // printed on the worker, outside any loop
}

TEST(SeedExamples, TraioExecutorScopeTimesOutWhileTheCallRunsOn) {
    check("traio_executor", coven_seed_traio_executor::main, {0.2});
}

TEST(SeedExamples, ThreadSafeTasksPrintHelloThenWorld) {
    // The loop runs on its own thread while main() posts the two tasks: on the virtual clock
    // the loop may jump to 1 s before the second one arrives, so world is due at 2 s or 3 s.
    auto got = capture(coven_seed_scarletio_thread_safe::main);
    auto want = expected_lines("scarletio_thread_safe");
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].text, want[0]);
    EXPECT_EQ(got[1].text, want[1]);
    EXPECT_DOUBLE_EQ(got[0].at, 1.0);
    EXPECT_TRUE(got[1].at == 2.0 || got[1].at == 3.0) << got[1].at;
}

TEST(SeedExamples, AsynkitEagerPrintsTheThreeOrders) {
    check("asynkit_eager", coven_seed_asynkit_eager::main, {-1.0, -1.0, -1.0});
}

TEST(SeedExamples, AsynkitAwaitSyncRunsWithoutALoopUntilSomethingBlocks) {
    check("asynkit_await_sync", coven_seed_asynkit_await_sync::main, {-1.0, -1.0, -1.0});
}

TEST(SeedExamples, AsynkitSyncFunctionIsCalledDirectly) {
    check("asynkit_syncfunction", coven_seed_asynkit_syncfunction::main, {-1.0});
}

TEST(SeedExamples, AsynkitTaskInterruptHasRaisedTheErrorWhenItReturns) {
    check("asynkit_task_interrupt", coven_seed_asynkit_task_interrupt::main, {0.0, 0.0, 0.0});
}

TEST(SeedExamples, AsynkitAiterSyncIteratesAGeneratorWithNoLoop) {
    check("asynkit_aiter_sync", coven_seed_asynkit_aiter_sync::main, {-1.0});
}

TEST(SeedExamples, AsynkitCoroAwaitChangesTheGivenContextNotTheCallers) {
    check("asynkit_coro_await", coven_seed_asynkit_coro_await::main, {0.0, 0.0});
}

TEST(SeedExamples, LockPrintsHelloWorldAndHelloWorldOneAfterTheOther) {
    check("scarletio_lock", coven_seed_scarletio_lock::main, {1.0, 2.0, 4.0});
}

TEST(SeedExamples, ScarletLockLetsTwoInAtOnce) {
    check("scarletio_scarlet_lock", coven_seed_scarletio_scarlet_lock::main, {1.0, 1.0, 3.0});
}

TEST(SeedExamples, EventWakesBothWaitersWhenSet) {
    check("scarletio_event", coven_seed_scarletio_event::main, {2.0, 2.0});
}

TEST(Examples, ShieldedCleanupFinishesAfterTheDeadlineBeforeTheTimeoutIsReported) {
    check("shielded_cleanup", coven_example_shielded_cleanup::main, {0.0, 3.0, 3.5, 3.5});
}

TEST(SeedExamples, SleepLoopPrintsTheTimeEveryFourSecondsUntilStopped) {
    // The program runs forever; after three lines the test stops the loop from inside, which
    // cancels the task; the program's try/finally then stops the loop and the error surfaces.
    std::vector<line> got;
    bool cancelled = false;
    try {
        capture(
            coven_seed_scarletio_sleep_loop::main,
            [](std::size_t n) {
                if (n == 3) {
                    coven::current_loop()->stop();
                }
            },
            &got);
    } catch (const coven::cancelled_error&) {
        cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    ASSERT_EQ(got.size(), 3u);
    auto is_clock_time = [](const std::string& t) { // HH:MM:SS, what %X gives in the C locale
        if (t.size() != 8 || t[2] != ':' || t[5] != ':') {
            return false;
        }
        for (std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u}) {
            if (!std::isdigit(static_cast<unsigned char>(t[i]))) {
                return false;
            }
        }
        return true;
    };
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_TRUE(is_clock_time(got[i].text)) << got[i].text;
        EXPECT_DOUBLE_EQ(got[i].at, 4.0 * static_cast<double>(i));
    }
}
