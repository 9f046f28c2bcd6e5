#pragma once
// Per-thread pool of coroutine frames, in size classes of 16 bytes up to 1 KiB. Larger frames go
// to operator new. A frame may be freed on another thread than the one that allocated it (a task
// created on the main thread runs and ends on the loop's thread): it then joins the freeing
// thread's free list. Memory is carved from 64 KiB slabs that live until the process ends, so a
// block is always valid whichever thread's list holds it; when a thread exits, its free lists are
// handed to a global store that the next thread adopts. Sanitizer builds (COVEN_NO_FRAME_POOL)
// use plain operator new so that ASan sees every use after free.

#include <cstddef>
#include <cstdint>

namespace coven::detail {

void* allocate_frame(std::size_t size);
/// Test seam: the n-th frame allocation from now throws std::bad_alloc (n <= 0: none).
void fail_frame_allocation_after(std::int64_t n) noexcept;
/// True while an injected failure is still to come.
auto frame_allocation_failure_armed() noexcept -> bool;
void deallocate_frame(void* p, std::size_t size) noexcept;
/// The calling thread's frame counter is gone (thread exit): the pool's fast path must stop
/// using it (src/accounting.cpp calls this).
void frame_pool_counters_gone() noexcept;

} // namespace coven::detail
