// coven::event (S20): any number of waiters, set/clear, cancellation.
#include <coven/event.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {
auto say_when_set(coven::event& ev, std::string what, std::vector<std::string>& log) -> task<void> {
    try {
        co_await ev;
        log.push_back(what);
    } catch (const coven::cancelled_error&) {
        log.push_back(what + " cancelled");
        throw;
    }
}
} // namespace

TEST(Event, SetWakesEveryWaiterInTheOrderTheyCame) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 5; ++i) {
            fs.push_back(
                coven::current_loop()->create_task(say_when_set(ev, std::to_string(i), log)));
        }
        co_await coven::sleep(2.0);
        EXPECT_EQ(ev.statistics().waiting, 5u);
        ev.set();
        for (auto& f : fs) {
            co_await f;
        }
        EXPECT_EQ(vtime(loop), 2.0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(Event, AWaitOnASetEventReturnsAtOnceUntilCleared) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        ev.set();
        co_await ev.wait();
        EXPECT_TRUE(ev.is_set());
        ev.clear();
        auto w = coven::current_loop()->create_task(say_when_set(ev, "after clear", log));
        co_await coven::sleep(1.0);
        EXPECT_FALSE(w.done());
        ev.set();
        co_await w;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, std::vector<std::string>{"after clear"});
}

TEST(Event, ACancelledWaiterLeavesAndTheOthersAreStillWoken) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto* l = coven::current_loop();
        auto a = l->create_task(say_when_set(ev, "a", log));
        auto b = l->create_task(say_when_set(ev, "b", log));
        auto c = l->create_task(say_when_set(ev, "c", log));
        co_await coven::sleep(1.0);
        b.cancel();
        co_await coven::sleep(1.0);
        EXPECT_EQ(ev.statistics().waiting, 2u);
        ev.set();
        c.cancel(); // chosen, not run yet: it raises, the others go on
        co_await a;
        co_await c.wait();
        EXPECT_TRUE(c.cancelled());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (std::vector<std::string>{"b cancelled", "a", "c cancelled"}));
}

TEST(Event, SetFromAnotherThreadWhileTasksWaitIsAUsageError) {
    coven::event_loop loop(virtual_options());
    coven::event ev;
    std::vector<std::string> log;
    auto main = [&]() -> task<void> {
        auto w = coven::current_loop()->create_task(say_when_set(ev, "w", log));
        co_await coven::sleep(1.0);
        bool refused = false;
        std::thread other([&] {
            try {
                ev.set();
            } catch (const coven::usage_error&) {
                refused = true;
            }
        });
        other.join();
        EXPECT_TRUE(refused);
        ev.set();
        co_await w;
    };
    loop.run_until_complete(main());
}
