#pragma once
// Test seams (TESTING.md): counters of live runtime objects, read by coven's test suite after
// every test and available to users' tests too. Nothing here is an awaitable, so nothing has a
// cancellation contract.

#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>
#include <coven/detail/kernel.hpp>

#include <cstdint>

namespace coven::testing {

/// Runtime objects alive right now, process-wide.
struct live_objects {
    std::int64_t frames = 0;  ///< task frames (task<T> coroutines not yet destroyed)
    std::int64_t timers = 0;  ///< timers armed in a wheel
    std::int64_t waiters = 0; ///< tasks parked in a coven awaiter
    std::int64_t loops = 0;   ///< event_loop objects
    std::int64_t fds = 0;     ///< fds coven opened (sockets, listeners) and has not closed

    friend auto operator==(const live_objects&, const live_objects&) -> bool = default;
};

/// Destroys the default loop object if it is stopped, and the calling thread's
/// this_thread_loop(), so that a test ends with no loop and no loop fds alive (and the next one
/// starts at time zero). Any reference to them obtained earlier dangles afterwards: tests only.
/// It also destroys the thread's await_sync() loops.
/// **Thread safety:** a test's thread, while no other thread uses the default loop; not from a
/// task.
/// **Throws:** usage_error if the default loop is running, or from a task of this thread's
/// this_thread_loop().
void reset_default_loop();

/// Allocation-failure injection (TESTING.md seam 5): the n-th task-frame allocation from now,
/// process-wide, throws std::bad_alloc; n <= 0 disarms it. Calling a task function then throws
/// bad_alloc before anything was scheduled.
/// **Thread safety:** any thread (an atomic countdown, shared by every thread's allocations).
inline void fail_frame_allocation_after(std::int64_t n) noexcept {
    detail::fail_frame_allocation_after(n);
}
/// True while the injected failure has not happened yet.
[[nodiscard]] inline auto frame_allocation_failure_armed() noexcept -> bool {
    return detail::frame_allocation_failure_armed();
}

/// Bytes the frame pool has reserved for task frames, process-wide: it grows with the peak of
/// live frames, and never shrinks. Zero in builds without the pool (ASan).
/// **Thread safety:** any thread.
[[nodiscard]] inline auto frame_pool_reserved_bytes() noexcept -> std::size_t {
    return detail::frame_pool_reserved_bytes();
}

/// Read-only views of a loop's private state, for tests that pin what the public API cannot
/// show (the loop's state itself is private to its kernel). They read the loop's state without
/// synchronisation: call them on the loop's thread, or while no thread drives it.
/// Failure injection for the I/O engine choice: every io_uring_setup() from now on fails with
/// `err` (ENOSYS, EPERM, ENOMEM, ...), as on a kernel without io_uring, in a sandbox that forbids
/// it, or under a low RLIMIT_MEMLOCK; 0 lets them run again.
/// **Thread safety:** any thread (process-wide).
inline void fail_io_uring_setup(int err) noexcept {
    detail::fail_io_uring_setup(err);
}

namespace inspect {
/// Exceptions thrown into tasks of `loop` (task_throw(), task_interrupt(), task_timeout()) that
/// wait to be raised; 0 once every one was raised or taken back.
[[nodiscard]] inline auto pending_interrupts(event_loop& loop) noexcept -> std::size_t {
    return detail::pending_interrupts(detail::loop_core_of(loop));
}
/// I/O operations started on `loop`'s engine and not completed or given up: 0 once every
/// waiter has left (a cancelled one must not leave its fd registered).
[[nodiscard]] inline auto pending_io(event_loop& loop) noexcept -> std::size_t {
    return detail::pending_io(detail::loop_core_of(loop));
}
/// The name of `loop`'s I/O engine ("epoll").
[[nodiscard]] inline auto io_engine_name(event_loop& loop) noexcept -> const char* {
    return detail::io_engine_name(detail::loop_core_of(loop));
}
} // namespace inspect

/// A snapshot of the counters. **Thread safety:** any thread; the sums are exact only while
/// every thread is quiet (each counter is read atomically, one after the other).
inline auto live() noexcept -> live_objects {
    auto& c = detail::counters();
    return {detail::live_frames(), c.timers.load(), detail::live_waiters(), c.loops.load(),
            c.fds.load()};
}

} // namespace coven::testing
