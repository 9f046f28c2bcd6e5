#include <coven/scheduling.hpp>
#include <coven/yield.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;

TEST(Yield, SkipReadyCycleLetsEveryReadyTaskRunFirst) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> order;
    auto first = [&]() -> task<void> {
        order.push_back("first");
        co_return;
    };
    auto second = [&]() -> task<void> {
        co_await coven::skip_ready_cycle();
        order.push_back("second");
    };
    auto main = [&]() -> task<void> {
        auto b = loop.create_task(second());
        auto a = loop.create_task(first());
        co_await b;
        co_await a;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
}

TEST(Yield, PingPongAlternatesStrictly) {
    coven::event_loop loop(virtual_options());
    std::string trace;
    auto player = [&](char c) -> task<void> {
        for (int i = 0; i < 5; ++i) {
            trace += c;
            co_await coven::skip_ready_cycle();
        }
    };
    auto main = [&]() -> task<void> {
        auto a = loop.create_task(player('a'));
        auto b = loop.create_task(player('b'));
        co_await a;
        co_await b;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(trace, "ababababab");
}

TEST(Yield, SkipPollCycleResumesAfterTheNextPollOnly) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> order;
    auto main = [&]() -> task<void> {
        auto polls = loop.statistics().polls;
        // (Coroutine lambdas get their state as parameters: a capturing temporary lambda would
        // be gone before the task runs.)
        auto w = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            co_await coven::skip_poll_cycle();
            o.push_back("world");
        }(order));
        auto h = loop.create_task([](std::vector<std::string>& o) -> task<void> {
            for (int i = 0; i < 10; ++i) {
                co_await coven::skip_ready_cycle();
            }
            o.push_back("hello");
        }(order));
        co_await w;
        co_await h;
        EXPECT_EQ(loop.statistics().polls, polls + 1);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(order, (std::vector<std::string>{"hello", "world"}));
}

TEST(Yield, TaskParkedAgainAfterAPollWaitsForTheNextOne) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto before = loop.statistics().polls;
        for (int i = 0; i < 5; ++i) {
            co_await coven::skip_poll_cycle();
        }
        EXPECT_EQ(loop.statistics().polls, before + 5);
    };
    loop.run_until_complete(main());
}

TEST(Yield, OutsideATaskIsAUsageError) {
    auto a = coven::skip_ready_cycle();
    EXPECT_THROW(a.await_suspend(std::noop_coroutine()), coven::usage_error);
    auto b = coven::skip_poll_cycle();
    EXPECT_THROW(b.await_suspend(std::noop_coroutine()), coven::usage_error);
}

TEST(Yield, ALoneTaskYieldsInPlaceAndTheTurnsStillCount) {
    coven::event_loop loop(virtual_options());
    auto main = []() -> task<void> {
        for (int i = 0; i < 10; ++i) {
            co_await coven::skip_ready_cycle();
        }
    };
    loop.run_until_complete(main());
    auto st = loop.statistics();
    EXPECT_EQ(st.yields_in_place, 10u); // nothing else was ready: no trip through the queue
    EXPECT_EQ(st.task_runs, 11u);       // the first turn, and one per yield as before
}

TEST(Yield, AYieldWithAnotherTaskReadyStillGoesThroughTheQueue) {
    coven::event_loop loop(virtual_options());
    std::string trace;
    auto main = [&]() -> task<void> {
        auto other = loop.create_task([](std::string& t) -> task<void> {
            t += 'o';
            co_return;
        }(trace));
        trace += 'a';
        co_await coven::skip_ready_cycle(); // `other` is ready: it runs first
        trace += 'b';
        co_await other;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(trace, "aob");
    EXPECT_EQ(loop.statistics().yields_in_place, 0u);
}

TEST(Yield, ALoneYieldingTaskStillLetsTheStarvationGuardPoll) {
    coven::event_loop loop(
        coven::loop_options{.clock = coven::clock_kind::virtual_time, .io_poll_interval = 64});
    auto main = [&]() -> task<void> {
        bool polled = false;
        // Parked until the next poll: the spinner below is then the only ready task.
        auto waiter = loop.create_task([](bool& p) -> task<void> {
            co_await coven::skip_poll_cycle();
            p = true;
        }(polled));
        co_await coven::skip_ready_cycle(); // let it park
        while (!polled) {
            co_await coven::skip_ready_cycle();
        }
        co_await waiter;
    };
    loop.run_until_complete(main());
    auto st = loop.statistics();
    EXPECT_GE(st.forced_polls, 1u);
    EXPECT_GE(st.yields_in_place, 60u);
}

TEST(Yield, ACancelPendingAtAnInPlaceYieldIsRaisedThere) {
    coven::event_loop loop(virtual_options());
    bool raised = false;
    auto main = [&]() -> task<void> {
        co_await coven::skip_ready_cycle(); // in place
        coven::current_task().cancel();
        try {
            co_await coven::skip_ready_cycle();
        } catch (const coven::cancelled_error&) {
            raised = true;
        }
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(raised);
    EXPECT_EQ(loop.statistics().yields_in_place, 1u);
}

TEST(Yield, AnEagerChildsYieldGivesControlBackToItsParent) {
    coven::event_loop loop(virtual_options());
    std::string trace;
    auto main = [&]() -> task<void> {
        auto child = loop.create_task_eager([](std::string& t) -> task<void> {
            t += "c1 ";
            co_await coven::skip_ready_cycle(); // nested in the parent's turn: must suspend
            t += "c2 ";
        }(trace));
        trace += "p ";
        co_await child;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(trace, "c1 p c2 ");
}

namespace {
auto poll_forever() -> task<void> {
    for (;;) {
        co_await coven::skip_poll_cycle();
    }
}
} // namespace

// A callback run after the poll cancels the only task parked for it: the loop had decided to
// wake "the parked tasks" before the callbacks ran, and then took the list's sentinel for one.
TEST(Yield, ATaskParkedForThePollCancelledByAPostedCallbackLeavesTheListWhole) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto b = loop.create_task(poll_forever());
        co_await coven::skip_ready_cycle(); // b parks for the poll
        loop.call_soon_threadsafe([&] { b.cancel(); });
        co_await b.wait();
        EXPECT_TRUE(b.cancelled());
        // The list still works: a task parks in it and is woken by the next poll.
        const auto polls = loop.statistics().polls;
        co_await coven::skip_poll_cycle();
        co_await coven::skip_poll_cycle();
        EXPECT_EQ(loop.statistics().polls, polls + 2);
        co_await coven::sleep(0.001);
    };
    loop.run_until_complete(main());
}

// The realistic trigger: thread_safe_future::cancel() from another thread lands while the
// cancelled task waits for the poll, next to others that wait for it too. Seeded: each seed
// cancels a different subset at different moments.
TEST(Yield, TasksParkedForThePollSurviveCancelsFromAnotherThread) {
    coven::event_loop loop;
    loop.start();
    auto keeper = loop.create_task_thread_safe(poll_forever()); // always one parked for the poll
    for (unsigned seed = 1; seed <= 40; ++seed) {
        std::mt19937 rng(seed);
        std::vector<coven::thread_safe_future<void>> tasks;
        for (int i = 0; i < 8; ++i) {
            tasks.push_back(loop.create_task_thread_safe(poll_forever()));
        }
        for (auto& t : tasks) {
            if (rng() % 3 == 0) {
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
            }
            t.cancel();
        }
        for (auto& t : tasks) {
            EXPECT_THROW(t.sync_wrap().wait(), coven::cancelled_error) << "seed " << seed;
        }
    }
    keeper.cancel();
    EXPECT_THROW(keeper.sync_wrap().wait(), coven::cancelled_error);
    loop.stop();
}
