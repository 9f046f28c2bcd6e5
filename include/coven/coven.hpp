#pragma once
// Everything coven offers, in one include.

#include <coven/async_generator.hpp>
#include <coven/async_scope.hpp>
#include <coven/await_sync.hpp>
#include <coven/cancel_scope.hpp>
#include <coven/coro_start.hpp>
#include <coven/delayed_result.hpp>
#include <coven/eager.hpp>
#include <coven/eager_task_group.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/executor.hpp>
#include <coven/future.hpp>
#include <coven/gather.hpp>
#include <coven/interrupt.hpp>
#include <coven/run.hpp>
#include <coven/sleep.hpp>
#include <coven/tamed.hpp>
#include <coven/task.hpp>
#include <coven/task_group.hpp>
#include <coven/task_local.hpp>
#include <coven/task_scope.hpp>
#include <coven/thread_pool.hpp>
#include <coven/thread_safe_future.hpp>
#include <coven/timeout.hpp>
#include <coven/yield.hpp>
