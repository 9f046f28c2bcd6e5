// Every entry point that takes a duration reads extreme values by one rule (coven/duration.hpp):
// past the clock's range (or infinite) is "never", negative is zero, NaN is a usage_error. Each
// property runs every extreme value through one entry point on the virtual clock; the suite also
// runs under UBSan, which reports any overflow on the way.

#include <coven/coven.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cfloat>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <tuple>

using namespace coven_test;
using coven::task;
using dsec = std::chrono::duration<double>;
using std::chrono::hours;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using std::chrono::years;

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// Each as a std::chrono duration and as seconds in a double, the two spellings every entry point
// takes.
auto never_values() {
    return std::make_tuple(hours::max(), nanoseconds::max(), seconds::max(), years(1000),
                           dsec(1e10), dsec(k_inf), dsec(DBL_MAX), 1e10, k_inf, DBL_MAX, 1e300);
}
auto zero_values() {
    return std::make_tuple(nanoseconds::min(), hours::min(), nanoseconds(-1), nanoseconds(0),
                           dsec(-k_inf), dsec(-1e300), -k_inf, -1e300, -1.0, -0.0);
}
auto nan_values() {
    return std::make_tuple(dsec(k_nan), k_nan);
}
// Far, but in range: 200 years (std::chrono's years are 365.2425 days).
constexpr double far_seconds = 200 * 31556952.0;
auto far_values() {
    return std::make_tuple(years(200), far_seconds);
}

template <class Tuple, class F>
void for_each_value(Tuple values, F fn) {
    std::apply([&](auto... v) { (fn(v), ...); }, values);
}

struct probe_result {
    std::string outcome = "pending"; // what the wait ended with, or "pending"
    double at = -1;                  // the virtual time it ended at
};

/// Runs `wait(never)` (a task<std::string> that waits on an event nobody sets, through the entry
/// point under test) on a virtual clock for `horizon` seconds, then cancels it if it is still
/// waiting. timeout_error reads as "timeout"; a cancel leaves "pending".
template <class Wait>
auto probe(Wait wait, double horizon = 3600) -> probe_result {
    coven::event_loop loop(virtual_options());
    probe_result r;
    auto waiter = [](Wait& w, coven::event& never, probe_result& r,
                     coven::event_loop& loop) -> task<void> {
        try {
            r.outcome = co_await w(never);
        } catch (const coven::timeout_error&) {
            r.outcome = "timeout";
        }
        r.at = loop.time();
    };
    auto main = [&]() -> task<void> {
        coven::event never;
        auto f = loop.create_task(waiter(wait, never, r, loop));
        co_await coven::sleep(horizon);
        if (!f.done()) {
            f.cancel();
            co_await f.wait();
        }
    };
    loop.run_until_complete(main());
    return r;
}

/// The property, for one entry point: `make(d)` gives the wait for duration `d`; `zero` is what
/// it ends with when the duration is zero (and `at` is 0 then), and also at 200 years, exactly.
template <class Make>
void check_rule(const char* entry, Make make, const std::string& zero) {
    SCOPED_TRACE(entry);
    int i = 0;
    for_each_value(never_values(), [&](auto d) {
        EXPECT_EQ(probe(make(d)).outcome, "pending") << "never value #" << i++;
    });
    i = 0;
    for_each_value(zero_values(), [&](auto d) {
        auto r = probe(make(d));
        EXPECT_EQ(r.outcome, zero) << "zero value #" << i;
        EXPECT_EQ(r.at, 0.0) << "zero value #" << i++;
    });
    for_each_value(far_values(), [&](auto d) {
        auto r = probe(make(d), 250 * 31556952.0);
        EXPECT_EQ(r.outcome, zero) << "200 years";
        EXPECT_NEAR(r.at, far_seconds, 1e-3) << "200 years";
    });
    for_each_value(nan_values(), [&](auto d) {
        auto r = probe([&](coven::event& never) -> task<std::string> {
            try {
                co_return co_await make(d)(never);
            } catch (const coven::usage_error& e) {
                co_return std::string(e.what()).find("NaN") != std::string::npos ? "refused"
                                                                                 : e.what();
            }
        });
        EXPECT_EQ(r.outcome, "refused") << "NaN";
    });
}

auto wait_on(coven::event& e) -> task<void> {
    co_await e.wait();
}

} // namespace

TEST(Durations, SleepReadsExtremeValuesByTheRule) {
    check_rule(
        "sleep()",
        [](auto d) {
            return [d](coven::event&) -> task<std::string> {
                co_await coven::sleep(d);
                co_return "done";
            };
        },
        "done");
}

TEST(Durations, MoveOnAfterReadsExtremeValuesByTheRule) {
    check_rule(
        "move_on_after(d, work)",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                const bool finished = co_await coven::move_on_after(d, wait_on(never));
                co_return finished ? "finished" : "moved on";
            };
        },
        "moved on");
    check_rule(
        "move_on_after(d).run()",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                auto scope = coven::move_on_after(d);
                co_await scope.run([&] { return wait_on(never); });
                co_return scope.cancelled_caught() ? "moved on" : "finished";
            };
        },
        "moved on");
}

TEST(Durations, FailAfterReadsExtremeValuesByTheRule) {
    check_rule(
        "fail_after(d, work)",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                co_await coven::fail_after(d, wait_on(never));
                co_return "finished";
            };
        },
        "timeout");
}

TEST(Durations, CancelScopeSetTimeoutReadsExtremeValuesByTheRule) {
    check_rule(
        "cancel_scope::set_timeout()",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                coven::cancel_scope scope;
                co_await scope.run([&]() -> task<void> {
                    scope.set_timeout(d);
                    co_await never.wait();
                });
                co_return scope.cancelled_caught() ? "moved on" : "finished";
            };
        },
        "moved on");
}

TEST(Durations, RepeatTimeoutReadsExtremeValuesByTheRule) {
    check_rule(
        "repeat_timeout()",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                co_await coven::repeat_timeout(d, [&] { return wait_on(never); });
                co_return "finished";
            };
        },
        "timeout");
}

TEST(Durations, TaskTimeoutReadsExtremeValuesByTheRule) {
    check_rule(
        "task_timeout()",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                co_await coven::task_timeout(d, wait_on(never));
                co_return "finished";
            };
        },
        "timeout");
}

TEST(Durations, ApplyTimeoutReadsExtremeValuesByTheRule) {
    check_rule(
        "future::apply_timeout()",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                auto f = coven::current_loop()->create_task(wait_on(never));
                std::exception_ptr error;
                try {
                    f.apply_timeout(d);
                    co_await f;
                } catch (const coven::timeout_error&) {
                } catch (...) {
                    error = std::current_exception(); // NaN, or the prober's cancel
                }
                if (error) {
                    f.cancel();        // (it must not outlive the event it waits on)
                    co_await f.wait(); // (a cancel is consumed when raised)
                    std::rethrow_exception(error);
                }
                co_return f.timed_out() ? "timeout" : "finished";
            };
        },
        "timeout");
}

TEST(Durations, ScopeTimeoutOptionReadsExtremeValuesByTheRule) {
    check_rule(
        "with_scope({.timeout})",
        [](auto d) {
            return [d](coven::event& never) -> task<std::string> {
                co_await coven::with_scope({.timeout = d}, [&](coven::task_scope& s) -> task<void> {
                    s << wait_on(never);
                    co_return;
                });
                co_return "finished";
            };
        },
        "timeout");
}

// A blocking wait with a timeout on a thread that drives no loop: "never" waits for the end, a
// negative timeout gives up at once, NaN is refused.
TEST(Durations, SyncWaitReadsExtremeValuesByTheRule) {
    coven::event_loop loop(virtual_options());
    loop.start();
    coven::event ev;
    auto waits_on_ev = [&ev]() -> task<int> {
        co_await ev.wait();
        co_return 1;
    };
    for_each_value(zero_values(), [&](auto d) {
        auto f = loop.create_task_thread_safe(waits_on_ev());
        EXPECT_THROW((void)f.sync_wrap().wait(d), coven::timeout_error);
        f.cancel();
        EXPECT_THROW((void)f.sync_wrap().wait(), coven::cancelled_error);
    });
    for_each_value(nan_values(), [&](auto d) {
        auto f = loop.create_task_thread_safe(waits_on_ev());
        EXPECT_THROW((void)f.sync_wrap().wait(d), coven::usage_error);
        f.cancel();
        EXPECT_THROW((void)f.sync_wrap().wait(), coven::cancelled_error);
    });
    for_each_value(never_values(), [&](auto d) {
        // A gate of its own, set for good: the setter's callback may run before the task waits.
        coven::event gate;
        auto f = loop.create_task_thread_safe([](coven::event& g) -> task<int> {
            co_await g.wait();
            co_return 1;
        }(gate));
        std::thread setter([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            loop.call_soon_threadsafe([&gate] { gate.set(); });
        });
        EXPECT_EQ(f.sync_wrap().wait(d), 1); // (an overflowing wait_for would time out at once)
        setter.join();
    });
    loop.stop();
}

// Time points: max() is never, min() has passed.
TEST(Durations, DeadlinesAtTheEndsOfTheClockReadByTheRule) {
    using tp = coven::event_loop::time_point;
    auto sleeps_until = [](tp t) {
        return [t](coven::event&) -> task<std::string> {
            co_await coven::sleep_until(t);
            co_return "done";
        };
    };
    EXPECT_EQ(probe(sleeps_until(tp::max())).outcome, "pending");
    EXPECT_EQ(probe(sleeps_until(tp::max() - nanoseconds(1))).outcome, "pending");
    auto r = probe(sleeps_until(tp::min()));
    EXPECT_EQ(r.outcome, "done");
    EXPECT_EQ(r.at, 0.0);
    auto fails_at = [](tp t) {
        return [t](coven::event& never) -> task<std::string> {
            co_await coven::fail_at(t, wait_on(never));
            co_return "finished";
        };
    };
    EXPECT_EQ(probe(fails_at(tp::max())).outcome, "pending");
    EXPECT_EQ(probe(fails_at(tp::min())).outcome, "timeout");
    auto moves_on_at = [](tp t) {
        return [t](coven::event& never) -> task<std::string> {
            co_return co_await coven::move_on_at(t, wait_on(never)) ? "finished" : "moved on";
        };
    };
    EXPECT_EQ(probe(moves_on_at(tp::max())).outcome, "pending");
    EXPECT_EQ(probe(moves_on_at(tp::min())).outcome, "moved on");
}

// advance(): saturates at the end of the clock's range; negative and NaN are refused.
TEST(Durations, AdvanceSaturatesAtTheEndOfTheClock) {
    coven::event_loop loop(
        coven::loop_options{.clock = coven::clock_kind::virtual_time, .autojump = false});
    loop.advance(hours::max());
    EXPECT_EQ(loop.now(), coven::event_loop::time_point::max());
    loop.advance(seconds(1));
    EXPECT_EQ(loop.now(), coven::event_loop::time_point::max());
    EXPECT_THROW(loop.advance(seconds(-1)), coven::usage_error);
    EXPECT_THROW(loop.advance(k_nan), coven::usage_error);
    EXPECT_THROW(loop.advance(-k_inf), coven::usage_error);
    // At the end of time, a sleep of any length is never.
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(sleep_for(1.0));
        co_await coven::skip_poll_cycle();
        co_await coven::skip_poll_cycle();
        EXPECT_FALSE(f.done());
        EXPECT_EQ(loop.statistics().timers, 0u);
        f.cancel();
        co_await f.wait();
    };
    loop.run_until_complete(main());
}

// A virtual clock with a timer at the end of its range neither overflows nor spins: autojump has
// nothing to jump to (UBSan reported the overflow, and an idle second took 400,000 polls).
TEST(Durations, ASleepUntilTheEndOfTimeDoesNotSpinTheVirtualClock) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        auto f = loop.create_task([]() -> task<void> {
            co_await coven::sleep_until(coven::event_loop::time_point::max());
        }());
        auto g = loop.create_task([]() -> task<void> {
            co_await coven::sleep_until(coven::event_loop::time_point::max() - seconds(1));
        }());
        const auto polls = loop.statistics().polls;
        co_await coven::sleep(1.0);
        EXPECT_LE(loop.statistics().polls - polls, 4u);
        EXPECT_FALSE(f.done());
        f.cancel();
        co_await f.wait();
        // The one a second before the end is in range: it fires, once the clock gets there.
        co_await g;
        const auto deadline = coven::event_loop::time_point::max() - seconds(1);
        EXPECT_GE(loop.now(), deadline);
        EXPECT_LT(loop.now() - deadline, std::chrono::microseconds(1)); // (rounded up to a tick)
    };
    loop.run_until_complete(main());
}
