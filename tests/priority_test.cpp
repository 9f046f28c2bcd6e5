// Priorities on locks (K20-K22): priority_lock, priority_condition, priority inheritance, and
// TESTING.md #9: inheritance against a reference model over 10,000 seeded sequences.
#include <coven/priority_condition.hpp>
#include <coven/priority_lock.hpp>
#include <coven/timeout.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace coven_test;
using coven::task;

namespace {
using log_t = std::vector<std::string>;

auto take_and_note(coven::lock& l, log_t& log, std::string what) -> task<void> {
    auto held = co_await l.scoped();
    log.push_back(std::move(what));
}

auto spawn_at(int priority, task<void> t) -> coven::future<void> {
    auto f = coven::current_loop()->create_task(std::move(t));
    coven::set_priority(f, priority);
    return f;
}
} // namespace

TEST(PriorityLock, WaitersGetItByPriorityAndInTheOrderTheyCameAmongEquals) {
    coven::event_loop loop(virtual_options());
    coven::priority_lock lock;
    log_t log;
    auto main = [&]() -> task<void> {
        auto held = co_await lock.scoped();
        std::vector<coven::future<void>> fs;
        const std::vector<std::pair<std::string, int>> spec{{"n1", 0}, {"l1", 10},  {"h1", -10},
                                                            {"n2", 0}, {"h2", -10}, {"l2", 10}};
        for (const auto& [name, p] : spec) {
            fs.push_back(spawn_at(p, take_and_note(lock, log, name)));
        }
        co_await coven::skip_ready_cycle(); // all six wait now
        EXPECT_EQ(lock.statistics().waiting, 6u);
        held.unlock();
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"h1", "h2", "n1", "n2", "l1", "l2"}));
}

TEST(PriorityLock, WaitersThatParkWhileAnotherIsChosenQueueBehindItByPriority) {
    // A chosen waiter stays at the head of the queue until it runs; waiters parking meanwhile
    // go after it, most urgent first, and are still served.
    coven::event_loop loop(virtual_options());
    coven::priority_lock lock;
    log_t log;
    auto take_at = [](coven::lock& l, log_t& log, std::string what, int p) -> task<void> {
        coven::set_priority(coven::current_task(), p);
        auto held = co_await l.scoped();
        log.push_back(std::move(what));
    };
    auto main = [&]() -> task<void> {
        auto held = co_await lock.scoped();
        auto first = loop.create_task(take_and_note(lock, log, "first"));
        co_await coven::skip_ready_cycle(); // `first` waits
        held.unlock();                      // `first` is chosen; it has not run yet
        // Started at once, so that both park while `first` is still chosen.
        auto low = loop.create_task_eager(take_at(lock, log, "low", 10));
        auto high = loop.create_task_eager(take_at(lock, log, "high", -10));
        EXPECT_EQ(lock.statistics().waiting, 2u);
        co_await coven::fail_after(
            std::chrono::seconds(1),
            [](coven::future<void> a, coven::future<void> b, coven::future<void> c) -> task<void> {
                co_await a;
                co_await b;
                co_await c;
            }(first, low, high));
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"first", "high", "low"}));
}

TEST(PriorityLock, APlainLockStaysFifoWhateverThePriorities) {
    coven::event_loop loop(virtual_options());
    coven::lock lock;
    log_t log;
    auto main = [&]() -> task<void> {
        auto held = co_await lock.scoped();
        auto a = spawn_at(coven::priority::low, take_and_note(lock, log, "low"));
        auto b = spawn_at(coven::priority::high, take_and_note(lock, log, "high"));
        co_await coven::skip_ready_cycle();
        held.unlock();
        co_await a;
        co_await b;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"low", "high"}));
}

TEST(PriorityLock, TheHolderInheritsTheMostUrgentWaiterUntilThatWaiterLeaves) {
    coven::event_loop loop(virtual_options());
    coven::priority_lock lock;
    log_t log;
    auto main = [&]() -> task<void> {
        auto self = coven::current_task();
        coven::set_priority(self, coven::priority::low);
        auto held = co_await lock.scoped();
        EXPECT_EQ(coven::effective_priority(self), coven::priority::low);
        auto normal = spawn_at(0, take_and_note(lock, log, "normal"));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(self), 0);
        auto urgent = spawn_at(-20, take_and_note(lock, log, "urgent"));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(self), -20);
        EXPECT_EQ(coven::get_priority(self), coven::priority::low); // its own is kept
        urgent.cancel();                                            // the boost leaves with it
        co_await urgent.wait();
        EXPECT_EQ(coven::effective_priority(self), 0);
        auto timed = [](coven::lock& l) -> task<void> {
            auto r = co_await coven::move_on_after(1.0, [&l] { return l.acquire(); });
            (void)r;
        };
        auto t = spawn_at(-30, timed(lock));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(self), -30);
        co_await coven::sleep(2.0); // it timed out
        EXPECT_EQ(coven::effective_priority(self), 0);
        co_await t;
        held.unlock(); // to `normal`: the boost is gone, the lock with it
        EXPECT_EQ(coven::effective_priority(self), coven::priority::low);
        co_await normal;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"normal"}));
}

TEST(PriorityLock, InheritanceFollowsAChainOfHoldersAndAPriorityChange) {
    coven::event_loop loop(virtual_options());
    coven::priority_lock first, second;
    coven::event go;
    log_t log;
    auto hold_both = [](coven::lock& mine, coven::lock& theirs, coven::event& ev) -> task<void> {
        auto held = co_await mine.scoped();
        co_await ev.wait();
        auto also = co_await theirs.scoped();
    };
    auto main = [&]() -> task<void> {
        auto a = coven::current_task(); // holds `first`
        auto held = co_await first.scoped();
        auto b = spawn_at(5, hold_both(second, first, go)); // holds `second`, will wait on first
        co_await coven::skip_ready_cycle();
        go.set();
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(a), 0); // b (5) is less urgent than a (0)
        auto c = spawn_at(-7, take_and_note(second, log, "c"));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(b), -7);
        EXPECT_EQ(coven::effective_priority(a), -7); // through b
        coven::set_priority(c, -9);
        EXPECT_EQ(coven::effective_priority(a), -9);
        coven::set_priority(c, 3);
        EXPECT_EQ(coven::effective_priority(a), 0);
        EXPECT_EQ(coven::effective_priority(b), 3);
        held.unlock();
        co_await b;
        co_await c;
        EXPECT_EQ(coven::effective_priority(a), 0);
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"c"}));
}

TEST(PriorityLock, ABoostedHolderRunsBeforeLessUrgentWorkInAPriorityLoop) {
    auto options = virtual_options();
    options.scheduling = coven::scheduling_policy::priority;
    options.boost_starved = false; // only inheritance may help here
    coven::event_loop loop(options);
    coven::priority_lock lock;
    log_t log;
    coven::event go;
    auto holder = [](coven::lock& l, coven::event& ev, log_t& out) -> task<void> {
        auto held = co_await l.scoped();
        co_await ev.wait();
        for (int i = 0; i < 3; ++i) {
            co_await coven::skip_ready_cycle();
        }
        out.push_back("holder done");
    };
    auto busy = [](log_t& out) -> task<void> {
        for (int i = 0; i < 50; ++i) {
            co_await coven::skip_ready_cycle();
        }
        out.push_back("busy done");
    };
    auto main = [&]() -> task<void> {
        coven::set_priority(coven::current_task(), coven::priority::high);
        auto h = spawn_at(coven::priority::low, holder(lock, go, log));
        co_await coven::sleep(0.0); // the holder has the lock and waits for `go`
        auto b = spawn_at(coven::priority::normal, busy(log));
        auto urgent = spawn_at(coven::priority::high, take_and_note(lock, log, "urgent"));
        go.set();
        co_await urgent; // urgent waits first and lends the holder its priority
        co_await h;
        co_await b;
    };
    loop.run_until_complete(main());
    // Without inheritance the low holder would wait for all 50 turns of the busy task.
    EXPECT_EQ(log, (log_t{"holder done", "urgent", "busy done"}));
}

TEST(PriorityCondition, NotifyWakesTheMostUrgentWaiterFirst) {
    coven::event_loop loop(virtual_options());
    coven::priority_lock lock;
    coven::priority_condition cv;
    log_t log;
    auto waiter = [](coven::lock& l, coven::condition& c, log_t& out,
                     std::string name) -> task<void> {
        auto held = co_await l.scoped();
        co_await c.wait(l);
        out.push_back(name);
    };
    auto main = [&]() -> task<void> {
        std::vector<coven::future<void>> fs;
        const std::vector<std::pair<std::string, int>> spec{
            {"n1", 0}, {"l1", 10}, {"h1", -10}, {"n2", 0}};
        for (const auto& [name, p] : spec) {
            fs.push_back(spawn_at(p, waiter(lock, cv, log, name)));
        }
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(cv.statistics().waiting, 4u);
        for (int i = 0; i < 4; ++i) {
            auto held = co_await lock.scoped();
            cv.notify_one();
            held.unlock();
            co_await coven::skip_ready_cycle();
        }
        for (auto& f : fs) {
            co_await f;
        }
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"h1", "n1", "n2", "l1"}));
}

namespace {
auto keeper(coven::lock::guard held, coven::event& ev) -> task<void> {
    co_await ev.wait();
    held.unlock(); // releases the hold of the task that has ended
}
auto hand_off_holder(coven::lock& l, coven::event& ev, coven::future<void>& kept) -> task<void> {
    auto held = co_await l.scoped();
    co_await coven::sleep(1.0); // an urgent waiter arrives and boosts us
    kept = coven::current_loop()->create_task(keeper(std::move(held), ev));
}
} // namespace

TEST(PriorityLock, AHolderThatEndsLendsNothingAndGoesBackToItsOwnPriority) {
    coven::event_loop loop(virtual_options());
    coven::priority_lock lock;
    coven::event go;
    log_t log;
    auto main = [&]() -> task<void> {
        coven::future<void> kept;
        auto h = spawn_at(coven::priority::low, hand_off_holder(lock, go, kept));
        co_await coven::skip_ready_cycle();
        auto urgent = spawn_at(coven::priority::high, take_and_note(lock, log, "urgent"));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(h), coven::priority::high);
        co_await h; // it ended, the lock still held through the guard it gave away
        EXPECT_EQ(coven::effective_priority(h), coven::priority::low);
        EXPECT_EQ(coven::get_priority(h), coven::priority::low);
        h = {}; // the lock keeps the ended holder's frame alive, not this handle
        auto late = spawn_at(-20, take_and_note(lock, log, "late"));
        co_await coven::skip_ready_cycle(); // waits for an ended holder: nobody to boost
        EXPECT_EQ(lock.statistics().waiting, 2u);
        go.set();
        co_await urgent;
        co_await late;
        co_await kept;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"late", "urgent"}));
}

TEST(PriorityLock, DestroyedWhileTasksWaitEndsTheirWaitsAndTheBoost) {
    coven::event_loop loop(virtual_options());
    log_t log;
    auto waiter = [](coven::lock& l, log_t& out) -> task<void> {
        try {
            co_await l.acquire();
            out.push_back("got it");
        } catch (const coven::usage_error&) {
            out.push_back("usage_error");
        }
    };
    auto main = [&]() -> task<void> {
        auto self = coven::current_task();
        coven::set_priority(self, coven::priority::low);
        auto lock = std::make_unique<coven::priority_lock>();
        co_await lock->acquire();
        auto w = spawn_at(coven::priority::high, waiter(*lock, log));
        co_await coven::skip_ready_cycle();
        EXPECT_EQ(coven::effective_priority(self), coven::priority::high);
        lock.reset(); // held by us, waited for by w
        EXPECT_EQ(coven::effective_priority(self), coven::priority::low);
        co_await w;
    };
    loop.run_until_complete(main());
    EXPECT_EQ(log, (log_t{"usage_error"}));
}

TEST(PriorityLock, StopWithTasksWaitingInItLeavesNothingBehind) {
    coven::priority_lock lock;
    coven::event never;
    log_t log;
    {
        coven::event_loop loop(virtual_options());
        auto holder = [](coven::lock& l, coven::event& ev) -> task<void> {
            auto held = co_await l.scoped();
            co_await ev.wait();
        };
        loop.run_until_complete([&]() -> task<void> {
            auto h = coven::current_loop()->create_task(holder(lock, never));
            co_await coven::skip_ready_cycle();
            for (int p : {5, -5, 0}) {
                (void)spawn_at(p, take_and_note(lock, log, "w"));
            }
            co_await coven::skip_ready_cycle();
            EXPECT_EQ(coven::effective_priority(h), -5);
        }());
        loop.stop(); // the holder and the three waiters unwind
    }
    EXPECT_FALSE(lock.locked());
    EXPECT_EQ(lock.statistics().waiting, 0u);
}

// --- TESTING.md #9: priority inheritance against a reference model ---------------------------

namespace {

enum class op { acquire, acquire_timed, release, cancel, tick, set_priority, release_cancel_next };

/// The model: who holds and waits for what, and every task's effective priority computed from
/// scratch. Waiters are ordered by (key, stamp): the priority they waited at, or were moved to
/// when it changed, and when that happened.
struct model {
    struct worker {
        int base = 0;
        int waiting = -1;
        bool timed = false;
        long timed_order = 0;
        std::set<int> held;
    };
    struct lock_state {
        int owner = -1;
        std::vector<std::tuple<int, long, int>> waiters; // key, stamp, worker
    };
    std::vector<worker> w;
    std::vector<lock_state> l;
    std::vector<int> eff;
    long stamp = 0;

    auto compute(int i) const -> int {
        int v = w[static_cast<std::size_t>(i)].base;
        for (int li : w[static_cast<std::size_t>(i)].held) {
            for (const auto& [k, s, wi] : l[static_cast<std::size_t>(li)].waiters) {
                v = std::min(v, compute(wi));
            }
        }
        return v;
    }
    void refresh() {
        std::vector<int> next(w.size());
        for (std::size_t i = 0; i < w.size(); ++i) {
            next[i] = compute(static_cast<int>(i));
        }
        for (std::size_t i = 0; i < w.size(); ++i) {
            if (w[i].waiting >= 0 && next[i] != eff[i]) {
                for (auto& [k, s, wi] : l[static_cast<std::size_t>(w[i].waiting)].waiters) {
                    if (wi == static_cast<int>(i)) {
                        k = next[i];
                        s = ++stamp;
                    }
                }
            }
        }
        eff = next;
    }
    void leave(int i) {
        auto& ws = l[static_cast<std::size_t>(w[static_cast<std::size_t>(i)].waiting)].waiters;
        std::erase_if(ws, [i](const auto& t) { return std::get<2>(t) == i; });
        w[static_cast<std::size_t>(i)].waiting = -1;
        w[static_cast<std::size_t>(i)].timed = false;
    }
    /// Releases `li` held by `i`; the waiter that gets it, or -1.
    auto release(int i, int li) -> int {
        w[static_cast<std::size_t>(i)].held.erase(li);
        auto& lk = l[static_cast<std::size_t>(li)];
        if (lk.waiters.empty()) {
            lk.owner = -1;
            return -1;
        }
        auto first = std::min_element(lk.waiters.begin(), lk.waiters.end());
        const int j = std::get<2>(*first);
        leave(j);
        lk.owner = j;
        w[static_cast<std::size_t>(j)].held.insert(li);
        return j;
    }
    /// True if `i` waiting for `li` would close a cycle of waits.
    auto would_deadlock(int i, int li) const -> bool {
        for (int hop = 0; hop < 16; ++hop) {
            const int o = l[static_cast<std::size_t>(li)].owner;
            if (o < 0) {
                return false;
            }
            if (o == i) {
                return true;
            }
            li = w[static_cast<std::size_t>(o)].waiting;
            if (li < 0) {
                return false;
            }
        }
        return true;
    }
};

struct command {
    op what = op::acquire;
    int lock = 0;
};

/// One real task: runs the commands the driver gives it, one at a time.
struct worker_box {
    std::optional<command> cmd;
    coven::event go;
    std::set<int> held;
    bool stop = false;
};

auto acquire_in(coven::lock& l) -> task<void> {
    co_await l.acquire();
}

auto run_worker(worker_box& box, std::vector<std::unique_ptr<coven::priority_lock>>& locks)
    -> task<void> {
    for (;;) {
        co_await box.go.wait();
        box.go.clear();
        if (box.stop) {
            co_return;
        }
        const command c = *box.cmd;
        box.cmd.reset();
        coven::lock& l = *locks[static_cast<std::size_t>(c.lock)];
        try {
            if (c.what == op::acquire) {
                co_await l.acquire();
            } else if (c.what == op::acquire_timed) {
                auto r = co_await coven::move_on_after(1.0, acquire_in(l));
                (void)r;
            } else { // release
                l.release();
                box.held.erase(c.lock);
                continue;
            }
        } catch (const coven::cancelled_error&) {
        }
        if (l.held_by_caller()) {
            box.held.insert(c.lock);
        }
    }
}

constexpr int workers = 4;
constexpr int lock_count = 3;
constexpr int ops_per_sequence = 24;

/// Plays one seeded sequence on real tasks and on the model; false at the first difference.
auto play(unsigned seed) -> task<bool> {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const int priorities[] = {-10, -5, 0, 0, 5, 10};
    std::vector<std::unique_ptr<coven::priority_lock>> locks;
    for (int i = 0; i < lock_count; ++i) {
        locks.push_back(std::make_unique<coven::priority_lock>());
    }
    std::vector<std::unique_ptr<worker_box>> boxes;
    std::vector<coven::future<void>> tasks;
    model m;
    m.w.resize(workers);
    m.l.resize(lock_count);
    m.eff.assign(workers, 0);
    for (int i = 0; i < workers; ++i) {
        boxes.push_back(std::make_unique<worker_box>());
        tasks.push_back(coven::current_loop()->create_task(run_worker(*boxes.back(), locks)));
        const int p = priorities[pick(6)];
        coven::set_priority(tasks.back(), p);
        m.w[static_cast<std::size_t>(i)].base = p;
    }
    m.refresh();
    auto settle = []() -> task<void> {
        // Parked on a timer, the driver lets every ready task run, whatever the priorities.
        for (int i = 0; i < 2; ++i) {
            co_await coven::sleep(0.0);
        }
    };
    // A waiter leaves by a real cancel() or by an interrupt (task_throw()), seeded: the worker
    // catches either and goes on with its next command.
    auto stop_waiting = [&](coven::future<void>& t) {
        if (pick(2) == 0) {
            t.cancel();
        } else {
            coven::task_throw(t, coven::interrupt_error());
        }
    };
    auto send = [&](int i, command c) {
        boxes[static_cast<std::size_t>(i)]->cmd = c;
        boxes[static_cast<std::size_t>(i)]->go.set();
    };
    auto check = [&](int step) -> bool {
        bool ok = true;
        for (int i = 0; i < workers; ++i) {
            const auto& mw = m.w[static_cast<std::size_t>(i)];
            const auto& f = tasks[static_cast<std::size_t>(i)];
            EXPECT_EQ(coven::effective_priority(f), m.eff[static_cast<std::size_t>(i)])
                << "worker " << i << " at step " << step;
            EXPECT_EQ(coven::get_priority(f), mw.base) << "worker " << i << " at step " << step;
            EXPECT_EQ(boxes[static_cast<std::size_t>(i)]->held, mw.held)
                << "worker " << i << " at step " << step;
            ok = ok && coven::effective_priority(f) == m.eff[static_cast<std::size_t>(i)] &&
                 coven::get_priority(f) == mw.base &&
                 boxes[static_cast<std::size_t>(i)]->held == mw.held;
        }
        for (int li = 0; li < lock_count; ++li) {
            const auto st = locks[static_cast<std::size_t>(li)]->statistics();
            const auto& ml = m.l[static_cast<std::size_t>(li)];
            EXPECT_EQ(st.waiting, ml.waiters.size()) << "lock " << li << " at step " << step;
            EXPECT_EQ(st.locked, ml.owner >= 0) << "lock " << li << " at step " << step;
            ok = ok && st.waiting == ml.waiters.size() && st.locked == (ml.owner >= 0);
        }
        return ok;
    };
    long timed_seq = 0;
    bool ok = true;
    for (int step = 0; step < ops_per_sequence && ok; ++step) {
        const int roll = pick(100);
        const int i = pick(workers);
        auto& mw = m.w[static_cast<std::size_t>(i)];
        if (roll < 45) { // acquire, plain or with a timeout
            const int li = pick(lock_count);
            if (mw.waiting >= 0 || mw.held.count(li) != 0 || m.would_deadlock(i, li)) {
                continue;
            }
            const bool timed = roll < 12;
            auto& ml = m.l[static_cast<std::size_t>(li)];
            if (ml.owner < 0) {
                ml.owner = i;
                mw.held.insert(li);
            } else {
                ml.waiters.emplace_back(m.eff[static_cast<std::size_t>(i)], ++m.stamp, i);
                mw.waiting = li;
                mw.timed = timed;
                mw.timed_order = ++timed_seq;
            }
            m.refresh();
            send(i, {timed ? op::acquire_timed : op::acquire, li});
            co_await settle();
        } else if (roll < 70) { // release (and maybe cancel the waiter it goes to)
            if (mw.waiting >= 0 || mw.held.empty()) {
                continue;
            }
            auto it = mw.held.begin();
            std::advance(it, pick(static_cast<int>(mw.held.size())));
            const int li = *it;
            const bool cancel_next = roll >= 64;
            const int j = m.release(i, li);
            send(i, {op::release, li});
            if (cancel_next && j >= 0) {
                // i runs now and releases, we run right after it: j is chosen, not run yet.
                co_await coven::task_switch(tasks[static_cast<std::size_t>(i)], 1);
                stop_waiting(tasks[static_cast<std::size_t>(j)]);
                m.w[static_cast<std::size_t>(j)].held.erase(li); // j hands it on
                m.release(j, li);
            }
            m.refresh();
            co_await settle();
        } else if (roll < 80) { // cancel a waiter
            if (mw.waiting < 0) {
                continue;
            }
            m.leave(i);
            m.refresh();
            stop_waiting(tasks[static_cast<std::size_t>(i)]);
            co_await settle();
        } else if (roll < 88) { // time passes: every timed waiter gives up, oldest first
            std::vector<std::pair<long, int>> timed;
            for (int k = 0; k < workers; ++k) {
                const auto& wk = m.w[static_cast<std::size_t>(k)];
                if (wk.waiting >= 0 && wk.timed) {
                    timed.emplace_back(wk.timed_order, k);
                }
            }
            std::sort(timed.begin(), timed.end());
            for (const auto& [order, k] : timed) {
                m.leave(k);
                m.refresh();
            }
            co_await coven::sleep(1.0);
            co_await settle();
        } else { // a new own priority
            const int p = priorities[pick(6)] + pick(3) - 1;
            mw.base = p;
            m.refresh();
            coven::set_priority(tasks[static_cast<std::size_t>(i)], p);
            co_await settle();
        }
        ok = check(step);
    }
    // Wind down: waiters leave, holders release, everyone stops.
    for (int i = 0; i < workers; ++i) {
        if (m.w[static_cast<std::size_t>(i)].waiting >= 0) {
            m.leave(i);
            coven::task_throw(tasks[static_cast<std::size_t>(i)], coven::interrupt_error());
        }
    }
    co_await settle();
    for (int i = 0; i < workers; ++i) {
        for (int li : std::set<int>(boxes[static_cast<std::size_t>(i)]->held)) {
            send(i, {op::release, li});
            co_await settle();
        }
    }
    for (int i = 0; i < workers; ++i) { // nobody holds or waits: no boost may be left
        const auto& t = tasks[static_cast<std::size_t>(i)];
        EXPECT_EQ(coven::effective_priority(t), m.w[static_cast<std::size_t>(i)].base)
            << "boost left behind on worker " << i;
        ok = ok && coven::effective_priority(t) == m.w[static_cast<std::size_t>(i)].base;
        boxes[static_cast<std::size_t>(i)]->stop = true;
        boxes[static_cast<std::size_t>(i)]->go.set();
    }
    for (auto& t : tasks) {
        co_await t;
    }
    co_return ok;
}

} // namespace

TEST(PriorityInheritance, MatchesTheReferenceModelOverTenThousandSeededSequences) {
    // Half the seeds on a FIFO loop, half on a priority loop (where a boost also moves queued
    // tasks).
    for (const auto policy : {coven::scheduling_policy::fifo, coven::scheduling_policy::priority}) {
        auto options = virtual_options();
        options.scheduling = policy;
        coven::event_loop loop(options);
        const unsigned first = policy == coven::scheduling_policy::fifo ? 0 : 5'000;
        auto main = [first]() -> task<void> {
            for (unsigned seed = first; seed < first + 5'000; ++seed) {
                SCOPED_TRACE("seed " + std::to_string(seed));
                if (!co_await play(seed)) {
                    ADD_FAILURE() << "first difference with seed " << seed;
                    co_return;
                }
            }
        };
        loop.run_until_complete(main());
    }
}
