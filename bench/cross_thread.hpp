#pragma once
// The spawn_cross_thread workload's body (bench/cross_thread.cpp).

#include <coven/event_loop.hpp>
#include <coven/task.hpp>

#include <cstdint>

namespace coven_bench {

/// Another thread makes `n` tasks with create_task_thread_safe(), at most 1,000 alive, and
/// waits for each; the loop runs and ends them, so each frame is made on one thread and freed
/// on the other. Ends once the last one has; `sum` gets the sum of their values.
auto cross_thread_spawns(coven::event_loop& loop, std::uint64_t n, std::uint64_t& sum)
    -> coven::task<void>;

} // namespace coven_bench
