#pragma once
// coven::priority_lock: a lock whose waiters are served by priority and whose holder inherits
// the most urgent waiter's priority (asynkit's PriorityLock, K20, K22).

#include <coven/lock.hpp>
#include <coven/priority.hpp>

namespace coven {

/// A coven::lock (same API, guard and cancel safety) whose waiters get it by priority: the
/// most urgent first (lowest set_priority() value), FIFO among equals (K20).
///
/// **Priority inheritance (K22):** while tasks wait for it, the task holding it runs at the
/// most urgent of their effective priorities if that is more urgent than its own, so a low
/// priority holder cannot keep a high priority waiter behind medium priority work in a
/// priority loop. The boost follows chains (a holder that itself waits for another
/// priority_lock passes it on) and ends as soon as its cause does: the lock is released or
/// handed on, or the waiter leaves (cancelled, interrupted, timed out).
/// **Cancellation:** as coven::lock: a cancelled waiter leaves (and its boost with it); one
/// chosen and cancelled before it ran passes the lock on. future::abort() drops a waiter as it
/// does in a lock. The lock keeps a reference on its holder: a holder that ignores cancellation
/// at loop stop is destroyed all the same, and the lock is free after stop.
/// **Thread safety:** the loop's thread only.
/// **Throws:** as coven::lock: usage_error for release() by a task that does not hold it or of
/// a free lock, for acquire() by its holder, from a task of another loop, or from a thread that
/// does not drive the waiters' loop. The inheritance records allocate inside the kernel's
/// noexcept hand-offs: running out of memory there ends the program (std::terminate).
/// **Example:**
/// ```
/// coven::priority_lock db;
/// auto held = co_await db.scoped(); // a priority::high waiter boosts whoever holds it
/// ```
class priority_lock : public lock {
public:
    priority_lock() noexcept : lock(by_priority_t{}) {}
};

} // namespace coven
