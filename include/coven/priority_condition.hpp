#pragma once
// coven::priority_condition: a condition whose waiters are woken by priority (asynkit's
// PriorityCondition, K21).

#include <coven/condition.hpp>
#include <coven/priority.hpp>
#include <coven/priority_lock.hpp>

namespace coven {

/// A coven::condition (same API and cancel safety) that wakes the most urgent waiter first: by
/// the waiter's effective priority when it began to wait, lower first, FIFO among equals (K21).
/// Pair it with a priority_lock, as asynkit's default does, so that taking the lock back is
/// ordered by priority too.
/// **Cancellation:** as coven::condition: a waiter cancelled or interrupted leaves at once, takes
/// the lock back, then raises; a notification given to a waiter cancelled before it ran passes
/// on to the next most urgent waiter.
/// **Thread safety:** the loop's thread only, as coven::condition.
/// **Throws:** as coven::condition (usage_error if the caller does not hold the lock, or from a
/// task of another loop).
/// **Example:**
/// ```
/// coven::priority_lock lock;
/// coven::priority_condition ready;
/// auto held = co_await lock.scoped();
/// co_await ready.wait(lock, [&] { return !jobs.empty(); });
/// ```
class priority_condition : public condition {
public:
    priority_condition() noexcept : condition(by_priority_t{}) {}
};

} // namespace coven
