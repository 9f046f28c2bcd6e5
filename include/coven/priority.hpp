#pragma once
// Task priorities (asynkit's PriorityTask and Priority, K18): a number per task, lower runs
// first, that a priority loop (K19) and priority locks (K20-K22) honour.

#include <coven/any_future.hpp>

namespace coven {

/// Named priority values (asynkit's `Priority`). Any value in [-32768, 32767] works.
namespace priority {
inline constexpr int high = -10;
inline constexpr int normal = 0; ///< what every task starts with
inline constexpr int low = 10;
} // namespace priority

/// Sets the task's own priority (K18): lower values run first in a loop constructed with
/// `scheduling_policy::priority`, FIFO among equals, and wait less in a priority_lock or
/// priority_condition. A FIFO loop keeps its order and only those primitives look. A queued task
/// moves to its new place at once; a task that inherits a more urgent priority (K22) keeps that
/// until the inheritance ends. New tasks start at priority::normal, whoever made them.
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error for a value outside [-32768, 32767], off the task's loop thread, or
/// for an empty any_future.
/// **Example:** `coven::set_priority(loop.create_task(housekeeping()), coven::priority::low);`
void set_priority(const any_future& task, int value);
/// The task's own priority, as set_priority() set it.
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error off the task's loop thread, or for an empty any_future.
[[nodiscard]] auto get_priority(const any_future& task) -> int;
/// The priority the task runs at: its own, or a more urgent one it inherits from tasks waiting
/// for priority locks it holds (K22).
/// **Thread safety:** the thread that drives the task's loop.
/// **Throws:** usage_error off the task's loop thread, or for an empty any_future.
[[nodiscard]] auto effective_priority(const any_future& task) -> int;

} // namespace coven
