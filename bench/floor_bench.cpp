// floor_bench: what the rig's `mutex` and `yield_pingpong` workloads cost with C++20 coroutines
// and nothing else. It is not coven and uses none of it: a FIFO ready queue, a lock with a
// singly linked waiter list, a yield that takes its turn in place when nothing else is ready
// (as coven's does), and no cancellation, no checks, no statistics, no accounting, no loop
// binding, no timers or I/O. It prints the rig's result line with peer=floor, so that
// `EXTRA_PEERS="coven=... floor=..." ../shared/peers/run.sh mutex` shows, in the same run, how far
// below coven any runtime of this shape could go (docs/performance.md, "The floor").
// Usage: floor_bench <workload> [N]. Exit code 3: any other workload.
#include "rig.hpp"

#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

namespace {

using rig::mono_ns;
using rig::peak_rss_kb;

// A task is a suspended coroutine and a link in the ready queue.
struct task_state {
    task_state* next = nullptr;
    std::coroutine_handle<> resume;
};

// The loop: a FIFO ready queue, run until empty.
struct ready_queue {
    task_state* head = nullptr;
    task_state* tail = nullptr;
    task_state* running = nullptr;

    void push(task_state* t) {
        t->next = nullptr;
        (tail ? tail->next : head) = t;
        tail = t;
    }
    void run() {
        while (task_state* t = head) {
            head = t->next;
            if (!head) {
                tail = nullptr;
            }
            running = t;
            t->resume.resume();
        }
    }
};

ready_queue g_ready;

struct task {
    struct promise_type : task_state {
        auto get_return_object() -> task {
            auto h = std::coroutine_handle<promise_type>::from_promise(*this);
            resume = h;
            return task{h};
        }
        auto initial_suspend() noexcept -> std::suspend_always { return {}; }
        auto final_suspend() noexcept -> std::suspend_always { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::abort(); }
    };
    std::coroutine_handle<promise_type> handle;
};

// yield: requeue at the tail, or go on at once when nothing else is ready.
struct yield_awaiter {
    [[nodiscard]] auto await_ready() const noexcept -> bool { return g_ready.head == nullptr; }
    void await_suspend(std::coroutine_handle<> h) const noexcept {
        g_ready.running->resume = h;
        g_ready.push(g_ready.running);
    }
    void await_resume() const noexcept {}
};

// A FIFO lock that hands itself to the first waiter on release.
struct fifo_lock {
    struct node {
        node* next = nullptr;
        task_state* waiter = nullptr;
    };
    struct acquire_awaiter {
        fifo_lock* lock;
        node n;
        [[nodiscard]] auto await_ready() noexcept -> bool {
            if (!lock->locked) {
                lock->locked = true;
                return true;
            }
            return false;
        }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            n.waiter = g_ready.running;
            n.waiter->resume = h;
            (lock->tail ? lock->tail->next : lock->head) = &n;
            lock->tail = &n;
        }
        void await_resume() const noexcept {}
    };

    bool locked = false;
    node* head = nullptr;
    node* tail = nullptr;

    auto acquire() noexcept -> acquire_awaiter { return acquire_awaiter{this, {}}; }
    void release() noexcept {
        if (node* n = head) {
            head = n->next;
            if (!head) {
                tail = nullptr;
            }
            g_ready.push(n->waiter); // handed over: stays locked
            return;
        }
        locked = false;
    }
};

auto mutex_worker(fifo_lock& lock, std::uint64_t rounds, std::uint64_t& counter) -> task {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        co_await lock.acquire();
        co_await yield_awaiter{};
        ++counter;
        lock.release();
    }
}

auto yielder(std::uint64_t rounds, std::uint64_t& count) -> task {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        co_await yield_awaiter{};
        ++count;
    }
}

// Spawns the tasks and runs the queue dry (timed, as coven_bench times its spawns too), then
// destroys the frames.
template <class Spawn>
auto run_tasks(std::uint64_t tasks, Spawn spawn) -> std::uint64_t {
    std::vector<task> all;
    all.reserve(tasks);
    const std::uint64_t t0 = mono_ns();
    for (std::uint64_t i = 0; i < tasks; ++i) {
        all.push_back(spawn());
        g_ready.push(&all.back().handle.promise());
    }
    g_ready.run();
    const std::uint64_t ns = mono_ns() - t0;
    for (auto& t : all) {
        t.handle.destroy();
    }
    return ns;
}

} // namespace

auto main(int argc, char** argv) -> int {
    if (argc < 2) {
        std::fprintf(stderr, "usage: floor_bench mutex|yield_pingpong [N]\n");
        return 2;
    }
    const bool is_mutex = std::strcmp(argv[1], "mutex") == 0;
    if (!is_mutex && std::strcmp(argv[1], "yield_pingpong") != 0) {
        return 3; // not a workload of this reference
    }
    std::uint64_t n =
        argc > 2 ? std::strtoull(argv[2], nullptr, 10) : (is_mutex ? 1'000'000 : 10'000'000);
    std::uint64_t counter = 0;
    std::uint64_t ns = 0;
    if (is_mutex) {
        constexpr std::uint64_t tasks = 1000; // as the rig's mutex: 1000 tasks x N/1000
        fifo_lock lock;
        ns = run_tasks(tasks, [&] { return mutex_worker(lock, n / tasks, counter); });
        if (counter != n / tasks * tasks) {
            std::abort();
        }
    } else {
        ns = run_tasks(2, [&] { return yielder(n / 2, counter); });
        if (counter != n / 2 * 2) {
            std::abort();
        }
    }
    const double ns_per_op = n ? static_cast<double>(ns) / static_cast<double>(n) : 0.0;
    std::printf("workload=%s n=%llu ns_per_op=%.2f total_s=%.4f peak_rss_kb=%ld peer=floor\n",
                argv[1], static_cast<unsigned long long>(n), ns_per_op,
                static_cast<double>(ns) / 1e9, peak_rss_kb());
    return 0;
}
