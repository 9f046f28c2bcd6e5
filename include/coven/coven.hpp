#pragma once
// Everything coven offers, in one include, by area (docs/design.md, "A map of the code").

// Core: tasks, futures, the loop, errors, durations.
#include <coven/any_future.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/run.hpp>
#include <coven/source_location.hpp>
#include <coven/task.hpp>

// Time and cancellation.
#include <coven/cancel_scope.hpp>
#include <coven/interrupt.hpp>
#include <coven/sleep.hpp>
#include <coven/task_timeout.hpp>
#include <coven/timeout.hpp>
#include <coven/yield.hpp>

// Synchronisation.
#include <coven/barrier.hpp>
#include <coven/condition.hpp>
#include <coven/event.hpp>
#include <coven/latch.hpp>
#include <coven/lock.hpp>
#include <coven/priority_condition.hpp>
#include <coven/priority_lock.hpp>
#include <coven/queue.hpp>
#include <coven/semaphore.hpp>

// Structure: scopes, groups, task-local values, scheduling control.
#include <coven/gather.hpp>
#include <coven/priority.hpp>
#include <coven/scheduling.hpp>
#include <coven/task_group.hpp>
#include <coven/task_local.hpp>
#include <coven/task_scope.hpp>

// Threads.
#include <coven/await_sync.hpp>
#include <coven/executor.hpp>
#include <coven/thread_pool.hpp>
#include <coven/thread_safe_future.hpp>

// The seeds' own facades.
#include <coven/async_generator.hpp>
#include <coven/async_scope.hpp>
#include <coven/coro_start.hpp>
#include <coven/delayed_result.hpp>
#include <coven/eager.hpp>
#include <coven/eager_task_group.hpp>
#include <coven/tamed.hpp>
