#pragma once
// Process-wide counters of live runtime objects: the accounting seam of TESTING.md. The test
// suite asserts after every test that they are back to zero, which catches suspended frames that
// LeakSanitizer would call reachable. Relaxed atomics: one uncontended increment per object.

#include <atomic>
#include <cstdint>

namespace coven::detail {

struct live_counters {
    std::atomic<std::int64_t> frames{0};  // frames of exited threads (see frame_count_add)
    std::atomic<std::int64_t> timers{0};  // timer nodes armed in some loop's wheel
    std::atomic<std::int64_t> waiters{0}; // tasks suspended in a coven awaiter
    std::atomic<std::int64_t> loops{0};   // event_loop objects alive
};

inline live_counters g_live;

inline auto counters() noexcept -> live_counters& {
    return g_live;
}

inline void count_add(std::atomic<std::int64_t>& c, std::int64_t d) noexcept {
    c.fetch_add(d, std::memory_order_relaxed);
}

/// Frames are counted per thread, with a plain load and store instead of a locked
/// read-modify-write: spawning a task changes the count twice, and on the fast path that lock
/// prefix was measurable. live_frames() sums every thread's count (exact when they are quiet).
void frame_count_add(std::int64_t d) noexcept;
auto live_frames() noexcept -> std::int64_t;

} // namespace coven::detail
