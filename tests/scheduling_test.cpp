// Scheduling control (K11-K14, K16, K17): positions in the ready queue, switching, and what
// each task is doing.
#include <coven/scheduling.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {
using log_t = std::vector<std::string>;

auto note(log_t& log, std::string what) -> task<void> {
    log.push_back(std::move(what));
    co_return;
}

auto wait_then_note(coven::event& ev, log_t& log, std::string what) -> task<void> {
    co_await ev.wait();
    log.push_back(std::move(what));
}

/// Runs `body` as the main task of a fresh virtual-clock loop after queueing a, b and c.
template <class Body>
void with_abc(log_t& log, Body body, coven::loop_options options = virtual_options()) {
    coven::event_loop loop(options);
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        std::vector<coven::future<void>> fs{l->create_task(note(log, "a")),
                                            l->create_task(note(log, "b")),
                                            l->create_task(note(log, "c"))};
        co_await body(fs);
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
}
} // namespace

TEST(Scheduling, SleepInsertResumesAfterExactlyThatManyReadyTasks) {
    for (std::size_t pos : {0u, 1u, 2u, 3u, 9u}) {
        log_t log;
        with_abc(log, [&](auto&) -> task<void> {
            co_await coven::sleep_insert(pos);
            log.push_back("main");
        });
        log_t want{"a", "b", "c"};
        want.insert(want.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(pos, 3)),
                    "main");
        EXPECT_EQ(log, want) << "pos " << pos;
    }
}

TEST(Scheduling, TaskReinsertMovesARunnableTaskToThatPlace) {
    log_t log;
    with_abc(log, [&](auto& fs) -> task<void> {
        coven::task_reinsert(fs[2], 0);
        coven::task_reinsert(fs[0], 1);
        EXPECT_EQ(coven::current_loop()->queue_len(), 3u);
        co_return;
    });
    EXPECT_EQ(log, (log_t{"c", "a", "b"}));
}

TEST(Scheduling, TaskSwitchRunsTheTargetNextAndTheCallerWhereAsked) {
    const std::vector<std::pair<std::optional<std::size_t>, log_t>> cases{
        {std::nullopt, {"c", "a", "b", "main"}},
        {0, {"main", "c", "a", "b"}},
        {1, {"c", "main", "a", "b"}},
        {2, {"c", "a", "main", "b"}},
    };
    for (const auto& c : cases) {
        const auto& pos = c.first; // (clang 14 cannot capture a structured binding)
        const auto& want = c.second;
        log_t log;
        with_abc(log, [&](auto& fs) -> task<void> {
            co_await coven::task_switch(fs[2], pos);
            log.push_back("main");
        });
        EXPECT_EQ(log, want) << "insert_pos " << (pos ? static_cast<int>(*pos) : -1);
    }
}

TEST(Scheduling, TaskSwitchToATaskThatIsNotRunnableIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    log_t log;
    auto main = [&]() -> task<void> {
        auto blocked = coven::current_loop()->create_task(wait_then_note(ev, log, "w"));
        co_await coven::skip_ready_cycle();
        EXPECT_THROW(co_await coven::task_switch(blocked), coven::usage_error);
        EXPECT_THROW(coven::task_reinsert(blocked, 0), coven::usage_error);
        EXPECT_THROW(co_await coven::task_switch(coven::current_task()), coven::usage_error);
        ev.set();
        co_await blocked;
        EXPECT_THROW(co_await coven::task_switch(blocked), coven::usage_error);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"w"}));
}

TEST(Scheduling, APendingCancelRaisesFromSleepInsertAndTaskSwitchWithoutMovingAnything) {
    log_t log;
    with_abc(log, [&](auto& fs) -> task<void> {
        coven::current_task().cancel();
        EXPECT_THROW(co_await coven::sleep_insert(0), coven::cancelled_error);
        coven::current_task().cancel();
        EXPECT_THROW(co_await coven::task_switch(fs[2]), coven::cancelled_error);
        EXPECT_TRUE(coven::task_is_runnable(fs[0]));
        log.push_back("main");
    });
    EXPECT_EQ(log, (log_t{"main", "a", "b", "c"}));
}

TEST(Scheduling, ACancelThatArrivesWhileQueuedRaisesWhenTheTaskResumes) {
    coven::event_loop loop(virtual_options());
    log_t log;
    auto sleeper = [](log_t& out) -> task<void> {
        try {
            co_await coven::sleep_insert(5);
            out.push_back("resumed");
        } catch (const coven::cancelled_error&) {
            out.push_back("cancelled");
            throw;
        }
    };
    auto main = [&]() -> task<void> {
        auto s = coven::current_loop()->create_task(sleeper(log));
        co_await coven::skip_ready_cycle();
        EXPECT_TRUE(coven::task_is_runnable(s));
        s.cancel();
        co_await s.wait();
        EXPECT_TRUE(s.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"cancelled"}));
}

TEST(Scheduling, TaskIsBlockedAndTaskIsRunnableFollowTheTasksState) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    log_t log;
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(wait_then_note(ev, log, "w"));
        EXPECT_TRUE(coven::task_is_runnable(w)); // created: queued for its first turn
        EXPECT_FALSE(coven::task_is_blocked(w));
        co_await coven::skip_ready_cycle();
        EXPECT_TRUE(coven::task_is_blocked(w));
        EXPECT_FALSE(coven::task_is_runnable(w));
        ev.set();
        EXPECT_TRUE(coven::task_is_runnable(w));
        EXPECT_FALSE(coven::task_is_blocked(w));
        auto self = coven::current_task();
        EXPECT_FALSE(coven::task_is_runnable(self)); // running: neither
        EXPECT_FALSE(coven::task_is_blocked(self));
        co_await w;
        EXPECT_FALSE(coven::task_is_runnable(w));
        EXPECT_FALSE(coven::task_is_blocked(w));
    };
    loop.run_until_complete(main());
}

TEST(Scheduling, RunnableBlockedAndCurrentAddUpToAllTasks) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 3; ++i) {
            fs.push_back(l->create_task(wait_then_note(ev, log, "w")));
        }
        co_await coven::skip_ready_cycle(); // the three wait now
        fs.push_back(l->create_task(note(log, "r1")));
        fs.push_back(l->create_task(note(log, "r2")));
        auto runnable = coven::runnable_tasks();
        auto blocked = coven::blocked_tasks();
        auto all = coven::all_tasks();
        EXPECT_EQ(runnable, (std::vector<coven::any_future>{fs[3], fs[4]}));
        EXPECT_EQ(blocked, (std::vector<coven::any_future>{fs[0], fs[1], fs[2]}));
        EXPECT_EQ(all.size(), runnable.size() + blocked.size() + 1);
        EXPECT_NE(std::find(all.begin(), all.end(), coven::current_task()), all.end());
        ev.set();
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(coven::current_task() == coven::any_future()); // outside tasks: empty
}

TEST(Scheduling, QueueFindWithRemoveHoldsATaskBackUntilItIsInsertedAgain) {
    log_t log;
    with_abc(log, [&](auto& fs) -> task<void> {
        auto* l = coven::current_loop();
        auto found = l->queue_find([&](const coven::any_future& t) { return t == fs[1]; }, true);
        EXPECT_TRUE(found == coven::any_future(fs[1]));
        EXPECT_EQ(l->queue_len(), 2u);
        EXPECT_TRUE(coven::task_is_blocked(fs[1])); // out of the queue, waiting to go back
        co_await coven::sleep(1.0);                 // a and c run; b does not
        EXPECT_EQ(log, (log_t{"a", "c"}));
        l->queue_insert_pos(0, found);
        EXPECT_FALSE(
            l->queue_find([](const coven::any_future&) { return false; }).valid()); // no match
    });
    EXPECT_EQ(log, (log_t{"a", "c", "b"}));
}

TEST(Scheduling, CancellingATaskThatQueueFindRemovedPutsItBackToRaise) {
    coven::event_loop loop(virtual_options());
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto t = l->create_task(note(log, "t"));
        auto found = l->queue_find([](const coven::any_future&) { return true; }, true);
        EXPECT_TRUE(found == coven::any_future(t));
        t.cancel();
        co_await t.wait();
        EXPECT_TRUE(t.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty());
}

TEST(Scheduling, CallPosRunsTheCallbackAtThatPlace) {
    log_t log;
    with_abc(log, [&](auto&) -> task<void> {
        auto f = coven::current_loop()->call_pos(1, [&] { log.push_back("cb"); });
        co_await f;
    });
    EXPECT_EQ(log, (log_t{"a", "cb", "b", "c"}));
}

TEST(Scheduling, QueuePrimitivesOffTheLoopThreadAreUsageErrors) {
    coven::event_loop loop(virtual_options());
    loop.start();
    EXPECT_THROW((void)loop.queue_len(), coven::usage_error);
    EXPECT_THROW((void)coven::runnable_tasks(&loop), coven::usage_error);
    loop.stop();
    EXPECT_THROW((void)coven::blocked_tasks(), coven::usage_error); // no loop here
}

// --- the priority loop (K19) and boosting (K23) ---

namespace {
auto prio_options(bool boost = true) -> coven::loop_options {
    auto o = virtual_options();
    o.scheduling = coven::scheduling_policy::priority;
    o.boost_starved = boost;
    return o;
}
} // namespace

TEST(PriorityLoop, RunsTheMostUrgentFirstAndFifoAmongEquals) {
    coven::event_loop loop(prio_options());
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        std::vector<coven::future<void>> fs;
        // The named priorities are asynkit's HIGH = -10 and LOW = 10: h1 and l1 use the names,
        // h2 and l2 the numbers, so they tie (FIFO) only if the names have those values.
        const std::vector<std::pair<std::string, int>> spec{{"n1", coven::priority::normal},
                                                            {"l1", coven::priority::low},
                                                            {"h1", coven::priority::high},
                                                            {"n2", 0},
                                                            {"h2", -10},
                                                            {"l2", 10}};
        for (const auto& [name, p] : spec) {
            fs.push_back(l->create_task(note(log, name)));
            coven::set_priority(fs.back(), p);
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"h1", "h2", "n1", "n2", "l1", "l2"}));
}

TEST(PriorityLoop, AFifoLoopIgnoresPriorities) {
    coven::event_loop loop(virtual_options());
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto a = l->create_task(note(log, "low"));
        coven::set_priority(a, coven::priority::low);
        auto b = l->create_task(note(log, "high"));
        coven::set_priority(b, coven::priority::high);
        co_await a;
        co_await b;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"low", "high"}));
}

TEST(PriorityLoop, PositionsComeBeforePrioritiesAndChangingAPriorityMovesAQueuedTask) {
    coven::event_loop loop(prio_options());
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto low = l->create_task(note(log, "low"));
        coven::set_priority(low, coven::priority::low);
        auto high = l->create_task(note(log, "high"));
        coven::set_priority(high, coven::priority::high);
        auto mid = l->create_task(note(log, "mid"));
        EXPECT_EQ(coven::runnable_tasks(),
                  (std::vector<coven::any_future>{high, mid, low})); // sorted when asked
        coven::task_reinsert(low, 0);                                // pinned: runs first
        coven::set_priority(mid, -20);                               // now before high
        EXPECT_EQ(coven::runnable_tasks(), (std::vector<coven::any_future>{low, mid, high}));
        co_await coven::task_switch(high, 1); // high, then us, then mid
        log.push_back("main");
        co_await low;
        co_await mid;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"high", "main", "low", "mid"}));
}

TEST(PriorityLoop, SetPriorityRejectsValuesOutOfRange) {
    coven::event_loop loop(prio_options());
    auto main = [&]() -> task<void> {
        auto self = coven::current_task();
        EXPECT_THROW(coven::set_priority(self, 40000), coven::usage_error);
        EXPECT_THROW(coven::set_priority(self, -40000), coven::usage_error);
        coven::set_priority(self, -32768);
        EXPECT_EQ(coven::get_priority(self), -32768);
        co_return;
    };
    loop.run_until_complete(main());
}

namespace {
/// Yields `turns` times, counting its turns.
auto spin(int turns, int& count) -> task<void> {
    for (int i = 0; i < turns; ++i) {
        ++count;
        co_await coven::skip_ready_cycle();
    }
}
auto first_turn_at(int& clock, int& when) -> task<void> {
    when = clock;
    co_return;
}
} // namespace

TEST(PriorityLoop, AStarvedLowPriorityTaskIsBoostedWithinAboutTwoRounds) {
    for (bool boost : {true, false}) {
        coven::event_loop loop(prio_options(boost));
        int turns = 0;
        int low_ran_at = -1;
        auto main = [&]() -> task<void> {
            auto* l = coven::current_loop();
            std::vector<coven::future<void>> fs;
            for (int i = 0; i < 4; ++i) { // four urgent tasks that keep each other busy
                fs.push_back(l->create_task(spin(500, turns)));
                coven::set_priority(fs.back(), coven::priority::high);
            }
            auto low = l->create_task(first_turn_at(turns, low_ran_at));
            coven::set_priority(low, coven::priority::low);
            coven::set_priority(coven::current_task(), coven::priority::high);
            for (auto& f : fs) {
                co_await f;
            }
            co_await low;
        };
        loop.run_until_complete(main());
        if (boost) {
            EXPECT_GE(low_ran_at, 0);
            EXPECT_LE(low_ran_at, 3 * 16) << "boosted after about two upkeep rounds of 16 picks";
            EXPECT_GE(loop.statistics().boosted, 1u);
        } else {
            EXPECT_EQ(low_ran_at, 4 * 500) << "without boosting it waits for every urgent turn";
            EXPECT_EQ(loop.statistics().boosted, 0u);
        }
    }
}

TEST(PriorityLoop, StopEndsTasksQueuedInEveryList) {
    log_t log;
    {
        coven::event_loop loop(prio_options());
        // Nobody drives the loop: this thread may arrange its queue.
        auto a = loop.create_task(note(log, "a"));
        auto b = loop.create_task(note(log, "b"));
        coven::set_priority(b, coven::priority::low);
        coven::task_reinsert(a, 0); // a pinned, b in a level
        EXPECT_EQ(loop.queue_len(), 2u);
        loop.stop(); // cancels both before their first turn
        EXPECT_TRUE(a.cancelled());
        EXPECT_TRUE(b.cancelled());
        EXPECT_EQ(loop.statistics().live_tasks, 0u);
    }
    EXPECT_TRUE(log.empty());
}

TEST(PriorityLoop, SleepInsertPastTheEndPinsNobody) {
    coven::event_loop loop(prio_options(false));
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        coven::set_priority(coven::current_task(), coven::priority::high);
        std::vector<coven::future<void>> lows;
        for (int i = 0; i < 3; ++i) {
            lows.push_back(l->create_task(note(log, "low")));
            coven::set_priority(lows.back(), coven::priority::low);
        }
        co_await coven::sleep_insert(100); // like a yield: we are the most urgent, we go on
        log.push_back("main");
        auto urgent = l->create_task(note(log, "urgent"));
        coven::set_priority(urgent, coven::priority::high);
        co_await urgent; // runs before the low ones: they were not pinned
        for (auto& f : lows) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"main", "urgent", "low", "low", "low"}));
}

TEST(PriorityLoop, ABoostedTaskStillMovesWhenItsPriorityChanges) {
    coven::event_loop loop(prio_options());
    int turns = 0;
    bool checked = false;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        coven::set_priority(coven::current_task(), coven::priority::high);
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 4; ++i) {
            fs.push_back(l->create_task(spin(200, turns)));
            coven::set_priority(fs.back(), coven::priority::high);
        }
        int ran = -1;
        auto low = l->create_task(first_turn_at(turns, ran));
        coven::set_priority(low, coven::priority::low);
        while (loop.statistics().boosted == 0) {
            co_await coven::skip_ready_cycle();
        }
        if (coven::task_is_runnable(low)) { // boosted into the high level, not run yet
            coven::set_priority(low, -20);
            EXPECT_TRUE(coven::runnable_tasks().front() == coven::any_future(low));
            checked = true;
        }
        for (auto& f : fs) {
            co_await f;
        }
        co_await low;
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(checked);
}

TEST(Scheduling, QueueFindWithRemoveLeavesATaskWithAPendingCancelInTheQueue) {
    coven::event_loop loop(virtual_options());
    log_t log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto t = l->create_task(note(log, "t"));
        t.cancel(); // queued, with the cancel pending
        auto found = l->queue_find([](const coven::any_future&) { return true; }, true);
        EXPECT_TRUE(found == coven::any_future(t));
        EXPECT_TRUE(coven::task_is_runnable(t)); // put back at once, to raise
        co_await t.wait();
        EXPECT_TRUE(t.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(log.empty());
}

TEST(Scheduling, CallPosFromATaskOfAnotherLoopIsAUsageErrorAndRunsNothing) {
    coven::event_loop other(virtual_options());
    coven::event_loop loop(virtual_options());
    bool ran = false;
    auto main = [&]() -> task<void> {
        EXPECT_THROW((void)other.call_pos(0, [&] { ran = true; }), coven::usage_error);
        co_return;
    };
    loop.run_until_complete(main());
    other.run_until_complete([]() -> task<void> { co_return; }());
    EXPECT_FALSE(ran);
}
