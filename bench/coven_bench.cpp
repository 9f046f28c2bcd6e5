// coven's side of the peer benchmark rig (../shared/peers): the same workloads, the same result
// line. Usage: coven_bench <workload> [N]. Exit code 3: a workload coven does not have yet.
//
// Each workload runs inside one task on a loop driven by this thread (run_until_complete), as
// the peers run theirs inside one runtime thread.
#include "cross_thread.hpp"
#include "rig.hpp"
#include "tcp_echo.hpp"

#include <coven/coven.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using rig::mono_ns;
using rig::peak_rss_kb;

// splitmix64 with seed 42: the same sleep durations as every peer.
auto splitmix64(std::uint64_t& state) -> std::uint64_t {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

struct result {
    std::uint64_t ns = 0;      // the measured part
    std::uint64_t wall_ns = 0; // total_s, when it differs from ns (timers)
    std::string extra;
};

// ------------------------------------------------------------------ spawn_join
auto child_value(int i) -> coven::task<int> {
    co_return i;
}

auto spawn_join(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t t0 = mono_ns();
    std::vector<coven::future<int>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        handles.push_back(loop.create_task(child_value(static_cast<int>(i & 0xffff))));
    }
    std::uint64_t sum = 0;
    for (auto& h : handles) {
        sum += static_cast<std::uint64_t>(co_await h);
    }
    r.ns = mono_ns() - t0;
    r.extra = "sum=" + std::to_string(sum);
}

// ---------------------------------------------------------- spawn_cross_thread (coven only)
// bench/cross_thread.cpp: in a translation unit of its own, so that its std::thread code does
// not change how g++ inlines the other workloads' hot loops here.
auto spawn_cross_thread(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t sum = 0;
    std::uint64_t t0 = mono_ns();
    co_await coven_bench::cross_thread_spawns(loop, n, sum);
    r.ns = mono_ns() - t0;
    r.extra = "sum=" + std::to_string(sum);
}

// -------------------------------------------------------------- yield_pingpong
template <bool Poll>
auto yielder(std::uint64_t iterations) -> coven::task<void> {
    for (std::uint64_t i = 0; i < iterations; ++i) {
        if constexpr (Poll) {
            co_await coven::skip_poll_cycle();
        } else {
            co_await coven::skip_ready_cycle();
        }
    }
}

template <bool Poll>
auto yield_pingpong(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t t0 = mono_ns();
    auto a = loop.create_task(yielder<Poll>(n / 2));
    auto b = loop.create_task(yielder<Poll>(n / 2));
    co_await a;
    co_await b;
    r.ns = mono_ns() - t0;
}

// ---------------------------------------------------------------------- timers
auto sleeper(std::uint64_t ms) -> coven::task<void> {
    co_await coven::sleep(std::chrono::milliseconds(ms));
}

auto timers(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t seed = 42;
    std::uint64_t t0 = mono_ns();
    std::vector<coven::future<void>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        handles.push_back(loop.create_task(sleeper(splitmix64(seed) % 101)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    std::uint64_t total = mono_ns() - t0;
    r.ns = total > 100'000'000 ? total - 100'000'000 : 0; // overhead over the longest sleep
    r.wall_ns = total;
}

// --------------------------------------------------------------- timers_cancel
auto cancellable_sleeper(std::uint64_t& started) -> coven::task<void> {
    ++started;
    co_await coven::sleep(std::chrono::seconds(10));
    std::abort(); // never reached: cancelled first
}

// Tokio's spelling is JoinHandle::abort(), which drops the future: so is coven's abort(). The
// coven-only timers_cancel_throw cancels with cancel() instead, which raises cancelled_error in
// each task (what a task that may catch it costs).
auto cancel_sleepers(coven::event_loop& loop, std::uint64_t n, result& r, bool drop)
    -> coven::task<void> {
    std::uint64_t t0 = mono_ns();
    std::uint64_t started = 0;
    std::vector<coven::future<void>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        handles.push_back(loop.create_task(cancellable_sleeper(started)));
    }
    while (started < n) {
        co_await coven::skip_ready_cycle(); // all are waiting now
    }
    for (auto& h : handles) {
        if (drop) {
            h.abort();
        } else {
            h.cancel();
        }
    }
    std::uint64_t cancelled = 0;
    for (auto& h : handles) {
        co_await h.wait(); // like joining Tokio's JoinHandle: the outcome is not thrown
        cancelled += h.cancelled() ? 1 : 0;
    }
    if (cancelled != n) {
        std::abort();
    }
    r.ns = mono_ns() - t0;
}

auto timers_cancel(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    return cancel_sleepers(loop, n, r, true);
}
auto timers_cancel_throw(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    return cancel_sleepers(loop, n, r, false);
}

// ------------------------------------------------------------------ cancel scopes (coven only)
// scope_ok: N times `co_await fail_after(1s, work)` whose work finishes at once: what a timeout
// costs when it does not fire (child frame, timer armed and disarmed).
// scope_timeout: N times a move_on scope whose deadline has passed around a sleep: what a
// timeout costs when it fires (one cancelled_error thrown through the child, absorbed).
auto quick(std::uint64_t i) -> coven::task<std::uint64_t> {
    co_return i;
}

auto scope_ok(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t t0 = mono_ns();
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        sum += co_await coven::fail_after(std::chrono::seconds(1), quick(i));
    }
    r.ns = mono_ns() - t0;
    r.extra = "sum=" + std::to_string(sum);
}

auto scope_timeout(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    std::uint64_t t0 = mono_ns();
    std::uint64_t timed_out = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        auto finished = co_await coven::move_on_at(coven::event_loop::time_point{},
                                                   [] { return coven::sleep(10.0); });
        timed_out += finished ? 0 : 1;
    }
    if (timed_out != n) {
        std::abort();
    }
    r.ns = mono_ns() - t0;
}

// ------------------------------------------------------------------------ mutex
// 1000 tasks, each N/1000 times: lock, yield once inside the critical section, unlock. The yield
// is skip_ready_cycle(), coven's yield (as in yield_pingpong).
auto mutex_worker(coven::lock& lock, std::uint64_t rounds, std::uint64_t& counter)
    -> coven::task<void> {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        co_await lock.acquire();
        co_await coven::skip_ready_cycle();
        ++counter;
        lock.release();
    }
}

auto mutex(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    constexpr std::uint64_t tasks = 1000;
    const std::uint64_t rounds = n / tasks;
    coven::lock lock;
    std::uint64_t counter = 0;
    std::uint64_t t0 = mono_ns();
    std::vector<coven::future<void>> handles;
    handles.reserve(tasks);
    for (std::uint64_t i = 0; i < tasks; ++i) {
        handles.push_back(loop.create_task(mutex_worker(lock, rounds, counter)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    r.ns = mono_ns() - t0;
    if (counter != rounds * tasks) {
        std::abort();
    }
}

// ---------------------------------------------------------------------- channel
// A producer task sends N u64 values through a queue of capacity 1024 to a consumer task.
auto channel_producer(coven::queue<std::uint64_t>& q, std::uint64_t n) -> coven::task<void> {
    for (std::uint64_t i = 0; i < n; ++i) {
        co_await q.put(i);
    }
    q.close();
}

auto channel_consumer(coven::queue<std::uint64_t>& q, std::uint64_t& sum)
    -> coven::task<std::uint64_t> {
    std::uint64_t received = 0;
    for (;;) {
        try {
            sum += co_await q.get();
        } catch (const coven::queue_closed&) {
            break;
        }
        ++received;
    }
    co_return received;
}

auto channel(coven::event_loop& loop, std::uint64_t n, result& r) -> coven::task<void> {
    coven::queue<std::uint64_t> q(1024);
    std::uint64_t sum = 0;
    std::uint64_t t0 = mono_ns();
    auto consumer = loop.create_task(channel_consumer(q, sum));
    auto producer = loop.create_task(channel_producer(q, n));
    co_await producer;
    std::uint64_t received = co_await consumer;
    r.ns = mono_ns() - t0;
    if (received != n || sum != n * (n - 1) / 2) {
        std::abort();
    }
}

// ------------------------------------------------------------------ tcp_echo
auto tcp_echo(coven::event_loop& /*loop*/, std::uint64_t n, result& r) -> coven::task<void> {
    const std::uint64_t t0 = mono_ns();
    const std::uint64_t trips = co_await coven_bench::tcp_echo_round_trips(n);
    r.ns = mono_ns() - t0;
    r.extra = "rt_per_s=" + std::to_string(static_cast<std::uint64_t>(
                                static_cast<double>(trips) / (static_cast<double>(r.ns) * 1e-9)));
}

struct workload {
    const char* name;
    std::uint64_t default_n;
    coven::task<void> (*run)(coven::event_loop&, std::uint64_t, result&);
};

const workload workloads[] = {
    {"spawn_join", 1'000'000, spawn_join},
    {"spawn_cross_thread", 1'000'000, spawn_cross_thread},
    {"yield_pingpong", 10'000'000, yield_pingpong<false>},
    {"yield_poll_pingpong", 10'000'000, yield_pingpong<true>},
    {"timers", 1'000'000, timers},
    {"timers_cancel", 1'000'000, timers_cancel},
    {"timers_cancel_throw", 1'000'000, timers_cancel_throw},
    {"mutex", 1'000'000, mutex},
    {"channel", 10'000'000, channel},
    {"scope_ok", 1'000'000, scope_ok},
    {"scope_timeout", 1'000'000, scope_timeout},
    {"tcp_echo", 1'000'000, tcp_echo},
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: coven_bench <workload> [N]\nworkloads:");
        for (const auto& w : workloads) {
            std::fprintf(stderr, " %s", w.name);
        }
        std::fprintf(stderr, "\n");
        return 2;
    }
    const workload* chosen = nullptr;
    for (const auto& w : workloads) {
        if (std::strcmp(w.name, argv[1]) == 0) {
            chosen = &w;
        }
    }
    if (!chosen) {
        std::fprintf(stderr, "coven_bench: workload '%s' is not implemented yet\n", argv[1]);
        return 3;
    }
    std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : chosen->default_n;
    result r;
    {
        coven::event_loop loop;
        loop.run_until_complete(chosen->run(loop, n, r));
    }
    double ns_per_op = n ? static_cast<double>(r.ns) / static_cast<double>(n) : 0.0;
    std::uint64_t total = r.wall_ns ? r.wall_ns : r.ns;
    std::printf("workload=%s n=%llu ns_per_op=%.2f total_s=%.4f peak_rss_kb=%ld peer=coven%s%s\n",
                chosen->name, static_cast<unsigned long long>(n), ns_per_op,
                static_cast<double>(total) * 1e-9, peak_rss_kb(), r.extra.empty() ? "" : " ",
                r.extra.c_str());
    return 0;
}
