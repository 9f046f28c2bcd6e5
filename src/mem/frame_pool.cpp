// The frame pool (detail/frame_pool.hpp).
//
// Each thread owns a heap: free lists per size class and a slab it carves new blocks from.
// Every block knows its heap through the header of its slab (slabs are aligned to their size,
// so the header is the block's address rounded down). A block freed by its heap's thread joins
// that heap's free list; one freed by any other thread goes back to its heap through a lock-free
// stack, which the owner takes whole when a free list runs dry. Blocks therefore always return
// to the heap that carved them, and memory stays bounded by the live frames for any pattern of
// threads: a producer that makes tasks on one thread while a loop ends them on another reuses
// its blocks instead of carving new slabs forever.
//
// A heap outlives its thread: at thread exit it is parked, free lists, slab and return stack
// and all, and the next thread to allocate adopts it whole. Blocks freed after that still find
// it. Slabs are never returned to the system: a heap keeps its high-water mark.

#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace coven::detail {
namespace {

std::atomic<std::size_t> g_slab_bytes{0};

#ifndef COVEN_NO_FRAME_POOL
constexpr std::size_t granule = 16;
constexpr std::size_t max_pooled = 1024;
constexpr std::size_t classes = max_pooled / granule;
constexpr std::size_t slab_bytes = 64 * 1024;
// Slabs are cut from chunks of this many: one aligned allocation per chunk, not per slab (a
// 64 KiB block aligned to 64 KiB costs glibc an mmap and a trim each time; the pages of a
// chunk cost nothing until touched).
constexpr std::size_t slabs_per_chunk = 32;

struct free_block {
    free_block* next;
    std::size_t size_class; // (set on a block on its way back through a return stack)
};

struct heap;

/// The start of every slab; blocks follow it (16 bytes keep them 16-byte aligned).
struct alignas(granule) slab_header {
    heap* owner;
};

auto slab_of(void* block) noexcept -> slab_header* {
    return reinterpret_cast<slab_header*>(reinterpret_cast<std::uintptr_t>(block) &
                                          ~(std::uintptr_t{slab_bytes} - 1));
}

/// What a heap's owner carves and reuses blocks from. It lives in the owning thread's
/// thread_local while a thread owns the heap (the fast paths reach it with no indirection), and
/// in the heap while it is parked.
struct heap_lists {
    free_block* lists[classes] = {};
    char* bump = nullptr;
    char* bump_end = nullptr;
    char* chunk = nullptr; // the next slab of the current chunk
    char* chunk_end = nullptr;

    /// A new block of `bytes` from the current slab, or a new slab of `owner`'s.
    auto carve(heap* owner, std::size_t bytes) -> void* {
        if (static_cast<std::size_t>(bump_end - bump) < bytes) {
            // The unused tail of the old slab is abandoned (less than 1 KiB).
            if (chunk == chunk_end) {
                chunk = static_cast<char*>(
                    ::operator new (slab_bytes* slabs_per_chunk, std::align_val_t{slab_bytes}));
                chunk_end = chunk + slab_bytes * slabs_per_chunk;
            }
            char* const slab = chunk;
            chunk += slab_bytes;
            ::new (static_cast<void*>(slab)) slab_header{owner};
            g_slab_bytes.fetch_add(slab_bytes, std::memory_order_relaxed);
            bump = slab + sizeof(slab_header);
            bump_end = slab + slab_bytes;
        }
        void* p = bump;
        bump += bytes;
        return p;
    }
};

/// A heap's identity: what slab headers point at. Never destroyed: a block may come home long
/// after the thread that carved it has exited.
struct heap {
    // Blocks freed by other threads (any thread pushes; the owner takes the whole stack).
    std::atomic<free_block*> returned{nullptr};
    heap_lists parked_lists;     // the lists while no thread owns the heap
    heap* next_parked = nullptr; // in the parking list, while no thread owns it

    /// Any thread: gives back a block of this heap.
    void give_back(free_block* b, std::size_t c) noexcept {
        b->size_class = c;
        free_block* head = returned.load(std::memory_order_relaxed);
        do {
            b->next = head;
        } while (!returned.compare_exchange_weak(head, b, std::memory_order_release,
                                                 std::memory_order_relaxed));
    }

    /// The owner: sorts the blocks other threads gave back into `l`.
    void take_returned(heap_lists& l) noexcept {
        free_block* b = returned.exchange(nullptr, std::memory_order_acquire);
        while (b != nullptr) {
            free_block* const next = b->next;
            b->next = l.lists[b->size_class];
            l.lists[b->size_class] = b;
            b = next;
        }
    }

    /// The owner: a block of class `c` from its lists, the returned blocks or a slab. (The
    /// fast path carves from the current slab before it looks at returned blocks: a thread
    /// whose blocks all come back reuses them from its next slab on, so it holds at most one
    /// slab more than its live blocks.)
    auto take(heap_lists& l, std::size_t c) -> void* {
        if (l.lists[c] == nullptr) {
            take_returned(l);
        }
        if (free_block* b = l.lists[c]) {
            l.lists[c] = b->next;
            return b;
        }
        return l.carve(this, (c + 1) * granule);
    }
};

/// Heaps of exited threads, for the next thread that allocates.
struct parking {
    std::mutex mutex;
    heap* parked = nullptr;
    // Allocations of a thread whose heap is parked already (a thread_local destroyed late):
    // from this heap, under `mutex`. No thread owns it, so every free of its blocks returns.
    heap late;
};

auto parked_heaps() -> parking& {
    static parking* p = new parking; // never destroyed: threads may exit after static dtors
    return *p;
}

// Trivially constructed and destroyed, so that the fast paths reach it with no TLS guard.
struct thread_state {
    heap_lists own;       // the lists of `home`, while this thread owns it
    heap* home = nullptr; // the heap this thread owns, from its first allocation to its exit
    bool fast = false;    // home is set and the thread's frame counter is alive
    bool exited = false;  // the heap was parked (thread exit)
};
thread_local thread_state t_pool;

/// Parks the exiting thread's heap, with its lists, for the next thread.
struct pool_exit {
    bool armed = false; // (setting it is the first use that registers the destructor)
    ~pool_exit() {
        heap* h = std::exchange(t_pool.home, nullptr);
        t_pool.fast = false;
        t_pool.exited = true;
        if (h != nullptr) {
            h->parked_lists = std::exchange(t_pool.own, heap_lists{});
            auto& p = parked_heaps();
            std::lock_guard lock(p.mutex);
            h->next_parked = p.parked;
            p.parked = h;
        }
    }
};
thread_local pool_exit t_pool_exit;

/// A thread's first allocation: it takes a parked heap (or makes one), arranges to park it when
/// it exits, and registers its frame counter, so that the fast path may use t_frame_count
/// unchecked once `fast` is set.
void adopt(thread_state& t) {
    t_pool_exit.armed = true;
    frame_count_add(0);
    heap* h = nullptr;
    {
        auto& p = parked_heaps();
        std::lock_guard lock(p.mutex);
        h = p.parked;
        if (h != nullptr) {
            p.parked = h->next_parked;
            h->next_parked = nullptr;
        }
    }
    if (h == nullptr) {
        h = new heap; // (never freed: see heap)
    }
    t.own = std::exchange(h->parked_lists, heap_lists{});
    t.home = h;
    t.fast = t_frame_count != nullptr; // (null: the counter is gone already, thread exit)
}

/// A block freed by a thread that does not own its heap.
[[gnu::noinline]] void return_block(free_block* b, std::size_t c) noexcept {
    slab_of(b)->owner->give_back(b, c);
}
#endif

// Allocation-failure injection (TESTING.md seam 5): > 0 counts down to a failing allocation.
std::atomic<std::int64_t> g_fail_countdown{0};

} // namespace

namespace {
/// Everything but a pooled allocation served from the thread's free list or slab: injected
/// failures, large frames, a thread's first allocation, returned blocks, a new slab. Out of
/// line, so that the fast path saves no registers.
[[gnu::noinline]] void* allocate_frame_slow(std::size_t size) {
    if (g_fail_countdown.load(std::memory_order_relaxed) > 0 &&
        g_fail_countdown.fetch_sub(1, std::memory_order_relaxed) == 1) {
        throw std::bad_alloc();
    }
#ifdef COVEN_NO_FRAME_POOL
    void* p = ::operator new(size);
#else
    void* p = nullptr;
    if (size > max_pooled) {
        p = ::operator new(size);
    } else {
        const std::size_t c = (size + granule - 1) / granule - 1;
        auto& t = t_pool;
        if (t.home == nullptr && !t.exited) {
            adopt(t);
        }
        if (t.home != nullptr) {
            p = t.home->take(t.own, c);
        } else {
            auto& parked = parked_heaps();
            std::lock_guard lock(parked.mutex);
            p = parked.late.take(parked.late.parked_lists, c);
        }
    }
#endif
    frame_count_add(1); // (after what may throw)
    return p;
}
} // namespace

void* allocate_frame(std::size_t size) {
#ifndef COVEN_NO_FRAME_POOL
    if (g_fail_countdown.load(std::memory_order_relaxed) == 0 && size <= max_pooled) [[likely]] {
        const std::size_t c = (size + granule - 1) / granule - 1;
        auto& t = t_pool;
        if (t.fast) [[likely]] {
            heap_lists& h = t.own;
            void* p = h.lists[c];
            const std::size_t bytes = (c + 1) * granule;
            if (p != nullptr) {
                h.lists[c] = static_cast<free_block*>(p)->next;
            } else if (static_cast<std::size_t>(h.bump_end - h.bump) >= bytes) {
                // (Blocks given back are taken when this slab is used up, before a new one.)
                p = h.bump;
                h.bump += bytes;
            }
            if (p != nullptr) {
                std::atomic<std::int64_t>* count = t_frame_count; // registered by adopt()
                count->store(count->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
                return p;
            }
        }
    }
#endif
    return allocate_frame_slow(size);
}

void frame_pool_counters_gone() noexcept {
#ifndef COVEN_NO_FRAME_POOL
    t_pool.fast = false; // the fast path bumps t_frame_count unchecked
#endif
}

void fail_frame_allocation_after(std::int64_t n) noexcept {
    g_fail_countdown.store(n > 0 ? n : 0, std::memory_order_relaxed);
}

auto frame_allocation_failure_armed() noexcept -> bool {
    return g_fail_countdown.load(std::memory_order_relaxed) > 0;
}

auto frame_pool_reserved_bytes() noexcept -> std::size_t {
    return g_slab_bytes.load(std::memory_order_relaxed);
}

void deallocate_frame(void* p, std::size_t size) noexcept {
    frame_count_add(-1);
#ifdef COVEN_NO_FRAME_POOL
    ::operator delete(p);
    (void)size;
#else
    if (size > max_pooled) {
        ::operator delete(p);
        return;
    }
    const std::size_t c = (size + granule - 1) / granule - 1;
    auto* b = static_cast<free_block*>(p);
    auto& t = t_pool;
    if (slab_of(p)->owner == t.home) [[likely]] { // (never null: a thread without a heap returns)
        b->next = t.own.lists[c];
        t.own.lists[c] = b;
        return;
    }
    return_block(b, c);
#endif
}

} // namespace coven::detail
