// future::abort(): a task ended without being resumed where that is safe (its frame destroyed
// where it waits, as Tokio's JoinHandle::abort() drops a future), cancelled everywhere else.
#include <coven/future.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <array>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::future;
using coven::task;

namespace {

/// Appends its name to a log when destroyed, saying if a throw was unwinding its frame: shows
/// which locals a drop destroyed, in what order, and that no exception was thrown into it.
struct on_destroy {
    std::vector<std::string>* log;
    std::string name;
    on_destroy(std::vector<std::string>& l, std::string n) : log(&l), name(std::move(n)) {}
    on_destroy(const on_destroy&) = delete;
    auto operator=(const on_destroy&) -> on_destroy& = delete;
    ~on_destroy() { log->push_back(name + (std::uncaught_exceptions() > 0 ? " by a throw" : "")); }
};

/// Sleeps inside a try block that logs a caught cancellation, with a local on each side.
auto sleeper(std::vector<std::string>& log) -> task<int> {
    on_destroy outer(log, "outer destroyed");
    try {
        on_destroy inner(log, "inner destroyed");
        co_await coven::sleep(10.0);
        log.push_back("woke");
    } catch (const coven::cancelled_error&) {
        log.push_back("caught");
    }
    co_return 1;
}

auto child_sleeper(std::vector<std::string>& log) -> task<int> {
    co_return co_await sleeper(log);
}

} // namespace

TEST(Abort, ASleepingTaskIsDroppedWithoutRunningItsCatchBlock) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleeper(log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(coven::testing::live().timers, 1); // its sleep (ours has fired)
        EXPECT_TRUE(f.abort());
        EXPECT_EQ(coven::testing::live().timers, 0); // its timer went at once
        EXPECT_FALSE(f.done());                      // it ends at its next turn
        co_await f.wait();
        EXPECT_TRUE(f.done());
        EXPECT_TRUE(f.cancelled());
        EXPECT_THROW(f.result(), coven::cancelled_error);
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_EQ(loop.now(), at(1.0)); // not at 10 s: it was never resumed
        EXPECT_FALSE(f.abort());        // it has ended
        EXPECT_FALSE(f.cancel());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"inner destroyed", "outer destroyed"}));
}

TEST(Abort, TheDropRunsTheDestructorsInTheTasksOwnContext) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> seen;
    struct check_context {
        std::vector<std::string>* seen;
        ~check_context() {
            seen->push_back(coven::current_task().name());
            // A destructor may spawn a task: the dropped task's bookkeeping takes it in stride.
            coven::current_loop()->create_task(sleep_for(0.5));
        }
    };
    auto victim = [](std::vector<std::string>& s) -> task<void> {
        check_context c{&s};
        co_await coven::sleep(10.0);
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(victim(seen), "victim");
        co_await coven::sleep(1.0);
        f.abort();
        co_await f.wait();
        EXPECT_EQ(f.name(), "victim");               // still readable once its frame is gone
        EXPECT_EQ(loop.statistics().live_tasks, 2u); // main and what the destructor spawned
        co_await coven::sleep(1.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(seen, (std::vector<std::string>{"victim"}));
}

TEST(Abort, TheDroppedTasksStateStaysUntilTheLastFutureGoes) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    const auto before = coven::testing::live().frames;
    auto main = [&]() -> task<future<int>> {
        auto f = loop.create_task(sleeper(log));
        co_await coven::sleep(1.0);
        f.abort();
        co_await f.wait();
        co_return f;
    };
    future<int> kept = loop.run_until_complete(main());
    EXPECT_EQ(coven::testing::live().frames, before + 1); // its block, holding what kept reads
    EXPECT_TRUE(kept.cancelled());
    {
        coven::any_future erased(kept);
        EXPECT_TRUE(erased.cancelled());
        EXPECT_TRUE(erased.as<int>().cancelled()); // its type is still known
    }
    kept = future<int>();
    EXPECT_EQ(coven::testing::live().frames, before);
}

TEST(Abort, JoinersAndDoneCallbacksSeeACancelledEnd) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    std::vector<std::string> seen;
    auto joiner = [](future<int> f, std::vector<std::string>& s) -> task<void> {
        try {
            co_await f;
            s.push_back("returned");
        } catch (const coven::cancelled_error&) {
            s.push_back("joiner saw cancelled");
        }
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleeper(log));
        f.add_done_callback([&](future<int>& done) {
            seen.push_back(done.cancelled() ? "callback saw cancelled" : "callback saw a value");
        });
        auto j = loop.create_task(joiner(f, seen));
        co_await coven::sleep(1.0);
        f.abort();
        co_await j;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(seen, (std::vector<std::string>{"callback saw cancelled", "joiner saw cancelled"}));
}

TEST(Abort, ATaskWaitingInATaskItAwaitsIsCancelledInstead) {
    // Library coroutines a task awaits may need to run code to leave (a scope joins its children),
    // so only a task waiting in its own body is dropped.
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(child_sleeper(log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(f.abort());
        EXPECT_EQ(co_await f, 1); // the child caught the cancellation and returned
    };
    loop.run_until_complete(main());
    EXPECT_EQ(
        log, (std::vector<std::string>{"inner destroyed by a throw", "caught", "outer destroyed"}));
}

TEST(Abort, ARunningTaskThatAbortsItselfIsCancelledAtItsNextAwait) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto self_abort = [](std::vector<std::string>& l) -> task<void> {
        coven::current_task().abort();
        try {
            co_await coven::sleep(1.0);
        } catch (const coven::cancelled_error&) {
            l.push_back("caught");
        }
    };
    loop.run_until_complete(self_abort(log));
    EXPECT_EQ(log, (std::vector<std::string>{"caught"}));
}

TEST(Abort, AnUnstartedTaskEndsWithoutRunning) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleeper(log));
        EXPECT_TRUE(f.abort());
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty()); // its body never ran
}

TEST(Abort, AShieldKeepsTheAbortOutAsItKeepsACancelOut) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto shielded = [](std::vector<std::string>& l) -> task<void> {
        coven::cancel_scope s;
        s.set_shield(true);
        co_await s.run(sleep_for(3.0));
        l.push_back("shielded part done");
        co_await coven::sleep(10.0); // outside the shield: the cancel raises here
        l.push_back("not reached");
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(shielded(log));
        co_await coven::sleep(1.0);
        f.abort();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_EQ(loop.now(), at(3.0));
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"shielded part done"}));
}

TEST(Abort, ALockWaiterIsDroppedAndTheLockGoesToTheNextWaiter) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    std::vector<std::string> log;
    auto waiter = [](coven::lock& lk, std::vector<std::string>& lg,
                     std::string name) -> task<void> {
        try {
            auto held = co_await lk.scoped();
            lg.push_back(name + " holds it");
        } catch (const coven::cancelled_error&) {
            lg.push_back(name + " caught");
        }
    };
    auto main = [&]() -> task<void> {
        auto held = co_await l.scoped();
        auto b = loop.create_task(waiter(l, log, "b"));
        auto c = loop.create_task(waiter(l, log, "c"));
        co_await coven::sleep(1.0);
        EXPECT_EQ(l.statistics().waiting, 2u);
        EXPECT_TRUE(b.abort());
        EXPECT_EQ(l.statistics().waiting, 1u); // unlinked at once
        held.unlock();
        co_await c;
        co_await b.wait();
        EXPECT_TRUE(b.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"c holds it"}));
    EXPECT_FALSE(l.locked());
}

TEST(Abort, EventSemaphoreAndQueueWaitersAreDropped) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    coven::semaphore sem(0);
    coven::queue<std::shared_ptr<int>> q(1);
    auto value = std::make_shared<int>(7);
    std::vector<std::string> log;
    auto on_event = [](coven::event& e, std::vector<std::string>& l) -> task<void> {
        on_destroy d(l, "event waiter destroyed");
        co_await e.wait();
        l.push_back("woke");
    };
    auto on_sem = [](coven::semaphore& s, std::vector<std::string>& l) -> task<void> {
        on_destroy d(l, "semaphore waiter destroyed");
        co_await s.acquire();
        l.push_back("woke");
    };
    auto on_get = [](coven::queue<std::shared_ptr<int>>& qu,
                     std::vector<std::string>& l) -> task<void> {
        on_destroy d(l, "getter destroyed");
        auto v = co_await qu.get();
        l.push_back("woke");
    };
    auto on_put = [](coven::queue<std::shared_ptr<int>>& qu, std::shared_ptr<int> v,
                     std::vector<std::string>& l) -> task<void> {
        on_destroy d(l, "putter destroyed");
        co_await qu.put(std::move(v)); // the queue is full: it waits
        l.push_back("woke");
    };
    auto run = [&]() -> task<void> {
        auto fe = loop.create_task(on_event(ev, log));
        auto fs = loop.create_task(on_sem(sem, log));
        auto fg = loop.create_task(on_get(q, log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(fe.abort());
        EXPECT_TRUE(fs.abort());
        EXPECT_TRUE(fg.abort());
        co_await fe.wait();
        co_await fs.wait();
        co_await fg.wait();
        EXPECT_TRUE(fe.cancelled() && fs.cancelled() && fg.cancelled());
        ev.set(); // nobody left to wake
        sem.release();
        EXPECT_EQ(sem.statistics().waiting, 0u);
        // A putter that waits on a full queue: dropped, its value is destroyed with it.
        co_await q.put(std::make_shared<int>(1));
        auto fp = loop.create_task(on_put(q, value, log));
        co_await coven::sleep(1.0);
        EXPECT_EQ(value.use_count(), 2);
        EXPECT_TRUE(fp.abort());
        co_await fp.wait();
        EXPECT_EQ(value.use_count(), 1);
        EXPECT_EQ(q.size(), 1u);
        EXPECT_EQ(*co_await q.get(), 1);
    };
    loop.run_until_complete(run());
    EXPECT_EQ(log, (std::vector<std::string>{"event waiter destroyed", "semaphore waiter destroyed",
                                             "getter destroyed", "putter destroyed"}));
}

TEST(Abort, AConditionWaitIsCancelledSoThatItTakesTheLockBack) {
    // A condition wait must hold the lock again before it leaves, so it is not drop-safe.
    coven::event_loop loop(virtual_options());
    coven::condition cond;
    coven::lock lk;
    std::vector<std::string> log;
    auto waiter = [](coven::condition& c, coven::lock& l,
                     std::vector<std::string>& lg) -> task<void> {
        auto held = co_await l.scoped();
        try {
            co_await c.wait(l);
        } catch (const coven::cancelled_error&) {
            lg.push_back(held.owns_lock() ? "caught, holding the lock" : "caught, lock lost");
        }
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(waiter(cond, lk, log));
        co_await coven::sleep(1.0);
        f.abort();
        co_await f.wait();
        EXPECT_FALSE(lk.locked());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"caught, holding the lock"}));
}

TEST(Abort, WorksOnAPriorityLoopAndAnEagerTask) {
    coven::loop_options options = virtual_options();
    options.scheduling = coven::scheduling_policy::priority;
    coven::event_loop loop(options);
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task_eager(sleeper(log)); // runs to its sleep now
        EXPECT_TRUE(f.abort());
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"inner destroyed", "outer destroyed"}));
}

TEST(Abort, ALocalTaskAndAFutureOfTheDroppedTaskAreReleased) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto holder = [](coven::event_loop& l, std::vector<std::string>& lg) -> task<void> {
        [[maybe_unused]] auto never_awaited = sleeper(lg); // a lazy child: its frame goes with ours
        auto other = l.create_task(sleep_then(2.0, 5));    // keeps running once we are dropped
        co_await coven::sleep(10.0);
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(holder(loop, log));
        co_await coven::sleep(1.0);
        f.abort();
        co_await f.wait();
        EXPECT_EQ(loop.statistics().live_tasks, 2u); // main and `other`
        co_await coven::sleep(2.0);
        EXPECT_EQ(loop.statistics().live_tasks, 1u);
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty()); // the child never started: nothing of its body ran
}

TEST(Abort, SpawningATaskThatWasAwaitedIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto t = sleep_then(0.0, 3);
        EXPECT_EQ(co_await t, 3);
        EXPECT_THROW(loop.create_task(std::move(t)), coven::usage_error);
    };
    loop.run_until_complete(main());
}

TEST(Abort, FromAnotherThreadIsAUsageError) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_for(1.0));
        bool refused = false;
        std::thread other([&] {
            try {
                f.abort();
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        co_await f;
    };
    loop.run_until_complete(main());
}

TEST(Abort, AHolderDroppedWhileItSleepsGivesTheLockToTheNextWaiterThroughItsGuard) {
    coven::event_loop loop(virtual_options());
    coven::lock l;
    std::vector<std::string> log;
    auto holder = [](coven::lock& lk) -> task<void> {
        auto held = co_await lk.scoped();
        co_await coven::sleep(10.0); // dropped here: the guard's destructor releases
    };
    auto next = [](coven::lock& lk, std::vector<std::string>& lg) -> task<void> {
        auto held = co_await lk.scoped();
        lg.push_back("next holds it");
    };
    auto main = [&]() -> task<void> {
        auto h = loop.create_task(holder(l));
        co_await coven::sleep(1.0);
        auto n = loop.create_task(next(l, log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(h.abort());
        co_await n;
        EXPECT_TRUE(h.cancelled());
        EXPECT_EQ(loop.now(), at(2.0));
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"next holds it"}));
    EXPECT_FALSE(l.locked());
}

TEST(Abort, ATaskWithATimeoutIsDroppedAndItsTimeoutGoesWithIt) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleeper(log));
        f.apply_timeout(5.0);
        co_await coven::sleep(1.0);
        EXPECT_TRUE(f.abort());
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
        EXPECT_FALSE(f.timed_out());
        co_await coven::sleep(10.0); // past the deadline: nothing fires
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"inner destroyed", "outer destroyed"}));
}

TEST(Abort, APriorityLockWaiterIsDroppedAndTheHoldersBoostGoesWithIt) {
    coven::loop_options options = virtual_options();
    options.scheduling = coven::scheduling_policy::priority;
    coven::event_loop loop(options);
    coven::priority_lock l;
    std::vector<std::string> log;
    auto holder = [](coven::priority_lock& lk) -> task<void> {
        auto held = co_await lk.scoped();
        co_await coven::sleep(5.0);
    };
    auto urgent = [](coven::priority_lock& lk, std::vector<std::string>& lg) -> task<void> {
        on_destroy d(lg, "urgent waiter destroyed");
        auto held = co_await lk.scoped();
        lg.push_back("urgent holds it");
    };
    auto main = [&]() -> task<void> {
        auto h = loop.create_task(holder(l));
        co_await coven::sleep(1.0);
        auto u = loop.create_task(urgent(l, log));
        coven::set_priority(u, coven::priority::high);
        co_await coven::sleep(1.0);
        EXPECT_EQ(coven::effective_priority(h), coven::priority::high); // inherited
        EXPECT_TRUE(u.abort());
        EXPECT_EQ(coven::effective_priority(h), 0); // the waiter left: the boost went
        co_await u.wait();
        EXPECT_TRUE(u.cancelled());
        co_await h;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"urgent waiter destroyed"}));
}

TEST(Abort, ADropThatADestructorOfAnotherDropStartsIsSafe) {
    // task_interrupt() runs a task whose drop is pending at once: from a destructor that a
    // drop runs, the second drop nests inside the first.
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    struct interrupts_on_destroy {
        future<int>* target;
        interrupts_on_destroy(const interrupts_on_destroy&) = delete;
        auto operator=(const interrupts_on_destroy&) -> interrupts_on_destroy& = delete;
        explicit interrupts_on_destroy(future<int>* t) : target(t) {}
        ~interrupts_on_destroy() {
            if (!target->done()) {
                EXPECT_FALSE(coven::task_interrupt(*target)); // dropped, not raised
                EXPECT_TRUE(target->done());
            }
        }
    };
    future<int> second;
    auto first_body = [](future<int>* t, std::vector<std::string>& lg) -> task<void> {
        on_destroy d(lg, "first destroyed");
        interrupts_on_destroy i(t);
        co_await coven::sleep(10.0);
    };
    auto main = [&]() -> task<void> {
        second = loop.create_task(sleeper(log));
        auto first = loop.create_task(first_body(&second, log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(first.abort()); // queued first: its drop runs first
        EXPECT_TRUE(second.abort());
        co_await first.wait();
        EXPECT_TRUE(first.cancelled());
        EXPECT_TRUE(second.cancelled());
    };
    loop.run_until_complete(main());
    second = future<int>();
    EXPECT_EQ(log,
              (std::vector<std::string>{"inner destroyed", "outer destroyed", "first destroyed"}));
}

TEST(Abort, TwiceOrAfterACancelIsHarmless) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto twice = loop.create_task(sleeper(log));
        auto after_cancel = loop.create_task(sleeper(log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(twice.abort());
        EXPECT_TRUE(twice.abort()); // not ended yet: its drop is pending
        EXPECT_TRUE(after_cancel.cancel());
        EXPECT_TRUE(after_cancel.abort()); // already woken by the cancel: stays a cancel
        co_await twice.wait();
        EXPECT_EQ(co_await after_cancel, 1); // it caught the cancellation
        EXPECT_TRUE(twice.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(
        log, (std::vector<std::string>{"inner destroyed", "outer destroyed",
                                       "inner destroyed by a throw", "caught", "outer destroyed"}));
}

TEST(Abort, AnAnyFutureAbortsAndAJoinerAbortedIsCancelledWithWhatItAwaits) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto joiner = [](future<int> f) -> task<int> { co_return co_await f; };
    auto main = [&]() -> task<void> {
        coven::any_future erased(loop.create_task(sleeper(log)));
        auto target = loop.create_task(sleeper(log));
        auto j = loop.create_task(joiner(target));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(erased.abort()); // dropped
        EXPECT_TRUE(j.abort());      // it awaits a future: cancelled, which cancels `target`
        co_await erased.wait();
        EXPECT_TRUE(erased.cancelled());
        EXPECT_EQ(co_await target, 1); // target caught its cancellation and returned
        EXPECT_EQ(co_await j, 1);      // so the joiner got its value (a result is never lost)
    };
    loop.run_until_complete(main());
    EXPECT_EQ(
        log, (std::vector<std::string>{"inner destroyed", "outer destroyed",
                                       "inner destroyed by a throw", "caught", "outer destroyed"}));
}

TEST(Abort, AFrameTooLargeForThePoolIsDroppedToo) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto big = [](std::vector<std::string>& l) -> task<int> {
        on_destroy d(l, "big destroyed");
        std::array<char, 4096> scratch{};
        scratch[0] = 1;
        co_await coven::sleep(10.0);
        co_return scratch[0];
    };
    const auto before = coven::testing::live().frames;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(big(log));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(f.abort());
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
        EXPECT_EQ(coven::testing::live().frames, before + 2); // main, and f's kept block
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"big destroyed"}));
}

TEST(Abort, DestructorsSeeTheTasksOwnTaskLocalValues) {
    coven::event_loop loop(virtual_options());
    coven::task_local<int> var(0);
    std::vector<int> seen;
    struct reads_on_destroy {
        coven::task_local<int>* var;
        std::vector<int>* seen;
        reads_on_destroy(const reads_on_destroy&) = delete;
        auto operator=(const reads_on_destroy&) -> reads_on_destroy& = delete;
        reads_on_destroy(coven::task_local<int>* v, std::vector<int>* s) : var(v), seen(s) {}
        ~reads_on_destroy() { seen->push_back(var->get()); }
    };
    auto body = [](coven::task_local<int>& v, std::vector<int>& s) -> task<void> {
        v.set(1);
        reads_on_destroy outer(&v, &s);
        auto scoped = v.scoped(2); // put back to 1 by its destructor, before `outer` reads
        reads_on_destroy inner(&v, &s);
        co_await coven::sleep(10.0);
    };
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(body(var, seen));
        co_await coven::sleep(1.0);
        f.abort();
        co_await f.wait();
        EXPECT_EQ(var.get(), 0); // main's own value: the dropped task's never leaked into it
    };
    loop.run_until_complete(main());
    EXPECT_EQ(seen, (std::vector<int>{2, 1}));
}

TEST(Abort, ATaskSwitchToATaskWhoseDropIsPendingEndsIt) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleeper(log));
        auto other = loop.create_task(sleep_for(0.0));
        co_await coven::sleep(1.0);
        EXPECT_TRUE(f.abort());
        EXPECT_TRUE(coven::task_is_runnable(f)); // queued for its drop
        co_await coven::task_switch(f);
        EXPECT_TRUE(f.done());
        EXPECT_TRUE(f.cancelled());
        co_await other;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"inner destroyed", "outer destroyed"}));
}
