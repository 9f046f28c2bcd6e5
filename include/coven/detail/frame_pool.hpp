#pragma once
// Per-thread pool of coroutine frames, in size classes of 16 bytes up to 1 KiB. Larger frames go
// to operator new. Each thread carves blocks from 64 KiB slabs of its own heap; a frame freed on
// another thread than the one that allocated it (a task created on the main thread ends on the
// loop's thread) goes back to its own heap, through a lock-free stack, so memory stays bounded
// by the live frames whatever threads make and end them. A heap outlives its thread: the next
// thread adopts it. Details in src/frame_pool.cpp. Sanitizer builds with ASan
// (COVEN_NO_FRAME_POOL) use plain operator new so that ASan sees every use after free.

#include <cstddef>
#include <cstdint>

namespace coven::detail {

void* allocate_frame(std::size_t size);
/// Test seam: the n-th frame allocation from now throws std::bad_alloc (n <= 0: none).
void fail_frame_allocation_after(std::int64_t n) noexcept;
/// True while an injected failure is still to come.
auto frame_allocation_failure_armed() noexcept -> bool;
void deallocate_frame(void* p, std::size_t size) noexcept;
/// Bytes of slabs carved so far, process-wide (the pool never gives them back).
auto frame_pool_reserved_bytes() noexcept -> std::size_t;
/// The calling thread's frame counter is gone (thread exit): the pool's fast path must stop
/// using it (src/accounting.cpp calls this).
void frame_pool_counters_gone() noexcept;

} // namespace coven::detail
