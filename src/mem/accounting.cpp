// Per-thread frame and waiter counters (see detail/accounting.hpp).
#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>

#include <mutex>
#include <vector>

namespace coven::detail {
namespace {

struct frame_counter;

struct registry {
    std::mutex mutex;
    std::vector<frame_counter*> live;
};

auto counters_registry() -> registry& {
    static registry* r = new registry; // used by thread exits after static destruction
    return *r;
}

// Set once this thread's counters are destroyed (trivially destructible: valid until the end).
thread_local bool t_counters_gone = false;

struct frame_counter {
    // Written by their thread only: load + store, no lock.
    std::atomic<std::int64_t> value{0};
    std::atomic<std::int64_t> waiters{0};
    frame_counter() {
        auto& r = counters_registry();
        std::lock_guard lock(r.mutex);
        r.live.push_back(this);
    }
    ~frame_counter() {
        auto& r = counters_registry();
        std::lock_guard lock(r.mutex);
        g_live.frames.fetch_add(value.load(std::memory_order_relaxed), std::memory_order_relaxed);
        g_live.waiters.fetch_add(waiters.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
        std::erase(r.live, this);
        // Thread-locals destroyed after this one (made before the thread's first frame) may
        // still end frames or waits: those counts go straight to the global totals, and the
        // frame pool stops using the counter on its fast path.
        t_frame_count = nullptr;
        t_waiter_count = nullptr;
        t_counters_gone = true;
        frame_pool_counters_gone();
    }
};

// The hot path touches only trivially constructed thread_locals, which need no TLS wrapper
// call; the registering object (constructor + destructor) is touched once per thread.
thread_local frame_counter* t_count = nullptr;

auto register_thread() noexcept -> frame_counter* {
    thread_local frame_counter counter;
    t_count = &counter;
    t_frame_count = &counter.value;
    t_waiter_count = &counter.waiters;
    return t_count;
}

void bump(std::atomic<std::int64_t>& v, std::int64_t d) noexcept {
    v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
}

} // namespace

void frame_count_add_slow(std::int64_t d) noexcept {
    if (t_counters_gone) {
        g_live.frames.fetch_add(d, std::memory_order_relaxed);
        return;
    }
    frame_counter* c = t_count;
    if (!c) {
        c = register_thread();
    }
    bump(c->value, d);
}

void waiter_count_add_slow(std::int64_t d) noexcept {
    if (t_counters_gone) {
        g_live.waiters.fetch_add(d, std::memory_order_relaxed);
        return;
    }
    frame_counter* c = t_count;
    if (!c) {
        c = register_thread();
    }
    bump(c->waiters, d);
}

namespace {
/// What exited threads left in `exited`, plus every live thread's `member`.
auto sum_counts(const std::atomic<std::int64_t>& exited,
                std::atomic<std::int64_t> frame_counter::*member) noexcept -> std::int64_t {
    auto& r = counters_registry();
    std::lock_guard lock(r.mutex);
    std::int64_t sum = exited.load(std::memory_order_relaxed);
    for (auto* c : r.live) {
        sum += (c->*member).load(std::memory_order_relaxed);
    }
    return sum;
}
} // namespace

auto live_frames() noexcept -> std::int64_t {
    return sum_counts(g_live.frames, &frame_counter::value);
}

auto live_waiters() noexcept -> std::int64_t {
    return sum_counts(g_live.waiters, &frame_counter::waiters);
}

} // namespace coven::detail
