// Per-thread frame counters (see detail/accounting.hpp).
#include <coven/detail/accounting.hpp>

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

struct frame_counter {
    std::atomic<std::int64_t> value{0}; // written by its thread only: load + store, no lock
    frame_counter() {
        auto& r = counters_registry();
        std::lock_guard lock(r.mutex);
        r.live.push_back(this);
    }
    ~frame_counter() {
        auto& r = counters_registry();
        std::lock_guard lock(r.mutex);
        g_live.frames.fetch_add(value.load(std::memory_order_relaxed), std::memory_order_relaxed);
        std::erase(r.live, this);
    }
};

// The hot path touches only trivially constructed thread_locals, which need no TLS wrapper
// call; the registering object (constructor + destructor) is touched once per thread.
thread_local std::atomic<std::int64_t>* t_count = nullptr;

auto register_thread() noexcept -> std::atomic<std::int64_t>* {
    thread_local frame_counter counter;
    t_count = &counter.value;
    return t_count;
}

} // namespace

void frame_count_add(std::int64_t d) noexcept {
    std::atomic<std::int64_t>* v = t_count;
    if (!v) {
        v = register_thread();
    }
    v->store(v->load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
}

auto live_frames() noexcept -> std::int64_t {
    auto& r = counters_registry();
    std::lock_guard lock(r.mutex);
    std::int64_t sum = g_live.frames.load(std::memory_order_relaxed);
    for (auto* c : r.live) {
        sum += c->value.load(std::memory_order_relaxed);
    }
    return sum;
}

} // namespace coven::detail
