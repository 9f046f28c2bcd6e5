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
    std::atomic<std::int64_t> waiters{0}; // of exited threads (see waiter_count_add)
    std::atomic<std::int64_t> loops{0};   // event_loop objects alive
    std::atomic<std::int64_t> fds{0};     // fds coven opened (sockets) and has not closed
};

inline live_counters g_live;

inline auto counters() noexcept -> live_counters& {
    return g_live;
}

/// A counter that one thread writes (a loop's driver) and any thread may read, as
/// event_loop::statistics() does: relaxed loads and stores, which compile to the plain moves of
/// an ordinary counter, so the writer pays nothing and a reader on another thread races with
/// nothing. Copying copies the value (one writer: no update is lost).
template <class T>
class stat_counter {
public:
    stat_counter() noexcept = default;
    stat_counter(const stat_counter& o) noexcept : m_value(o.get()) {}
    auto operator=(const stat_counter& o) noexcept -> stat_counter& {
        m_value.store(o.get(), std::memory_order_relaxed);
        return *this;
    }
    ~stat_counter() = default;

    auto operator++() noexcept -> stat_counter& { return *this += 1; }
    auto operator--() noexcept -> stat_counter& { return *this -= 1; }
    auto operator+=(T d) noexcept -> stat_counter& {
        m_value.store(get() + d, std::memory_order_relaxed);
        return *this;
    }
    auto operator-=(T d) noexcept -> stat_counter& {
        m_value.store(get() - d, std::memory_order_relaxed);
        return *this;
    }
    [[nodiscard]] auto get() const noexcept -> T { return m_value.load(std::memory_order_relaxed); }
    // NOLINTNEXTLINE(google-explicit-constructor): reads as the plain counter it replaces
    operator T() const noexcept { return get(); }

private:
    std::atomic<T> m_value{0};
};

inline void count_add(std::atomic<std::int64_t>& c, std::int64_t d) noexcept {
    c.fetch_add(d, std::memory_order_relaxed);
}

/// Frames are counted per thread, with a plain load and store instead of a locked
/// read-modify-write: spawning a task changes the count twice, and on the fast path that lock
/// prefix was measurable. live_frames() sums every thread's count (exact when they are quiet).
void frame_count_add_slow(std::int64_t d) noexcept;
auto live_frames() noexcept -> std::int64_t;
/// This thread's frame counter, once registered (trivially constructed: no TLS wrapper call).
/// Inline: a spawn and a task's end each change it, and a call into the library cost ~7
/// instructions more than these four.
inline thread_local std::atomic<std::int64_t>* t_frame_count = nullptr;
inline void frame_count_add(std::int64_t d) noexcept {
    if (std::atomic<std::int64_t>* c = t_frame_count) {
        c->store(c->load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
        return;
    }
    frame_count_add_slow(d);
}
/// Tasks suspended in a coven awaiter, counted per thread the same way: a park and a wake-up
/// each change it, and a locked add costs ~20 cycles where a plain load and store cost ~2.
void waiter_count_add_slow(std::int64_t d) noexcept;
auto live_waiters() noexcept -> std::int64_t;
/// This thread's waiter counter, once registered (trivially constructed: no TLS wrapper call).
inline thread_local std::atomic<std::int64_t>* t_waiter_count = nullptr;
inline void waiter_count_add(std::int64_t d) noexcept {
    if (std::atomic<std::int64_t>* c = t_waiter_count) {
        c->store(c->load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
        return;
    }
    waiter_count_add_slow(d);
}

} // namespace coven::detail
