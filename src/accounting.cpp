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

thread_local frame_counter t_frames;

} // namespace

void frame_count_add(std::int64_t d) noexcept {
    auto& v = t_frames.value;
    v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
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
