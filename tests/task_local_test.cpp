// task_local<T> (K7): one value per task, inherited as a copy by the tasks it makes.
#include <coven/task_local.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {

coven::task_local<std::string> g_name("unset");
coven::task_local<int> g_depth(0);

auto read_after(double seconds) -> task<std::string> {
    co_await coven::sleep(seconds);
    co_return g_name.get();
}

auto set_and_read(std::string v) -> task<std::string> {
    g_name.set(std::move(v));
    co_await coven::sleep(0.1);
    co_return g_name.get();
}

} // namespace

TEST(TaskLocal, UnsetGivesTheInitialValue) {
    coven::event_loop loop(virtual_options());
    EXPECT_EQ(loop.run_until_complete(read_after(0.0)), "unset");
}

TEST(TaskLocal, ANewTaskStartsWithACopyOfItsMakersValues) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_name.set("parent");
        auto child = coven::current_loop()->create_task(read_after(0.5));
        g_name.set("parent, later"); // after the child was made: not seen by it
        EXPECT_EQ(co_await child, "parent");
        EXPECT_EQ(g_name.get(), "parent, later");
    };
    loop.run_until_complete(main());
}

TEST(TaskLocal, AChildsSetIsItsOwn) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_name.set("parent");
        auto child = coven::current_loop()->create_task(set_and_read("child"));
        EXPECT_EQ(co_await child, "child");
        EXPECT_EQ(g_name.get(), "parent"); // untouched by the child
    };
    loop.run_until_complete(main());
}

TEST(TaskLocal, AnAwaitedSubTaskSharesItsRootsValues) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_name.set("root");
        EXPECT_EQ(co_await read_after(0.1), "root");
        EXPECT_EQ(co_await set_and_read("set inside"), "set inside");
        EXPECT_EQ(g_name.get(), "set inside"); // the same task: the same values
    };
    loop.run_until_complete(main());
}

TEST(TaskLocal, TasksOfAScopeInheritAndSiblingsAreIndependent) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> seen;
    auto main = [&]() -> task<void> {
        g_name.set("outer");
        co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<> {
            scope.spawn(set_and_read("a"));
            auto b = scope.spawn(read_after(0.2));
            co_await coven::sleep(0.3);
            seen.push_back(b.result());
        });
        seen.push_back(g_name.get());
    };
    loop.run_until_complete(main());
    EXPECT_EQ(seen, (std::vector<std::string>{"outer", "outer"}));
}

TEST(TaskLocal, ScopedValueRestoresThePreviousOne) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        g_depth.set(1);
        {
            auto guard = g_depth.scoped(2);
            EXPECT_EQ(g_depth.get(), 2);
            co_await coven::sleep(0.1);
        }
        EXPECT_EQ(g_depth.get(), 1);
        g_depth.reset();
        EXPECT_EQ(g_depth.get(), 0);
    };
    loop.run_until_complete(main());
}

TEST(TaskLocal, CodeOutsideTasksHasItsOwnValuesWhichItsTasksInherit) {
    g_name.set("thread");
    coven::event_loop loop(virtual_options());
    EXPECT_EQ(loop.run_until_complete(read_after(0.0)), "thread");
    EXPECT_EQ(g_name.get(), "thread");
    g_name.reset();
    EXPECT_EQ(g_name.get(), "unset");
}

TEST(TaskLocal, ManyTasksEachKeepTheirOwnValue) {
    coven::event_loop loop(virtual_options());
    std::vector<std::string> got(100);
    auto one = [](int i, std::vector<std::string>& out) -> task<void> {
        g_name.set("task " + std::to_string(i));
        co_await coven::sleep(0.01 * (100 - i)); // interleave
        out[static_cast<std::size_t>(i)] = g_name.get();
    };
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        for (int i = 0; i < 100; ++i) {
            fs.push_back(coven::current_loop()->create_task(one(i, got)));
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(got[static_cast<std::size_t>(i)], "task " + std::to_string(i));
    }
}

TEST(TaskLocal, ALoggedScopeKeepsItsChildrensInheritedValues) {
    // A scope's logger names each child as it is spawned; naming must not touch its values.
    coven::event_loop loop(virtual_options());
    std::vector<std::string> lines;
    auto log = [&](std::string_view line) { lines.emplace_back(line); };
    std::string seen;
    auto main = [&]() -> task<void> {
        g_name.set("outer");
        co_await coven::with_scope({.logger = log}, [&](coven::task_scope& scope) -> task<> {
            auto child = scope.spawn(read_after(0.1));
            seen = co_await child;
        });
    };
    loop.run_until_complete(main());
    EXPECT_EQ(seen, "outer");
    EXPECT_FALSE(lines.empty());
}

// Loop stop destroys a stuck task that nothing refers to: the destructors in its frame run in its
// own context, so a scoped value put back there lands in the task's values, not in those of the
// thread that called stop() (whose later tasks would inherit it).
TEST(TaskLocal, AStuckTaskDestroyedAtStopPutsItsScopedValueBackInItsOwnValues) {
    coven::event ev;
    auto stubborn = [](coven::event& ev) -> task<void> {
        g_name.set("task");
        auto restore = g_name.scoped("scoped"); // puts "task" back when destroyed
        for (;;) {
            try {
                co_await ev.wait();
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(
        [](coven::event_loop& loop, coven::event& ev, auto stubborn) -> task<void> {
            (void)loop.create_task(stubborn(ev)); // its future dropped: only the loop refers to it
            co_await coven::sleep(0.1);
        }(loop, ev, stubborn));
    loop.stop();
    EXPECT_EQ(g_name.get(), "unset");
    EXPECT_EQ(loop.run_until_complete(read_after(0.0)), "unset");
}
