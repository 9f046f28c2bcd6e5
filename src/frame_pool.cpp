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

constexpr std::size_t granule = 16;
constexpr std::size_t max_pooled = 1024;
constexpr std::size_t classes = max_pooled / granule;
constexpr std::size_t slab_bytes = 64 * 1024;

struct free_block {
    free_block* next;
};

// Free lists and slabs orphaned by exited threads; adopted by the next thread that allocates.
struct orphanage {
    std::mutex mutex;
    free_block* lists[classes] = {};
};

orphanage& orphans() {
    static orphanage* o = new orphanage; // never destroyed: threads may exit after static dtors
    return *o;
}

// Trivially constructed and destroyed, so that the fast path reaches it with no TLS guard and
// no registration call; pool_exit below hands its blocks on when the thread exits.
struct thread_pool_state {
    free_block* lists[classes] = {};
    char* bump = nullptr;
    char* bump_end = nullptr;
    // The fast path may run: orphans taken, exit hook armed, frame counter registered and alive.
    bool adopted = false;
    bool took_orphans = false;
    // pool_exit has run (thread exit): frees go straight to the orphanage.
    bool exited = false;

    void* carve(std::size_t bytes) {
        if (static_cast<std::size_t>(bump_end - bump) < bytes) {
            // Slabs are intentionally never returned: blocks from them may be live anywhere.
            // The unused tail of the old slab is abandoned (less than 1 KiB).
            bump = static_cast<char*>(::operator new(slab_bytes));
            bump_end = bump + slab_bytes;
        }
        void* p = bump;
        bump += bytes;
        return p;
    }
};

thread_local thread_pool_state t_pool;

/// `first` with `rest` attached behind its last block (walks `first` only).
auto chain(free_block* first, free_block* rest) noexcept -> free_block* {
    if (first == nullptr) {
        return rest;
    }
    free_block* last = first;
    while (last->next != nullptr) {
        last = last->next;
    }
    last->next = rest;
    return first;
}

/// Gives the exiting thread's free blocks to the orphanage (the unused tail of its slab is
/// abandoned: less than one slab per thread).
struct pool_exit {
    bool armed = false; // (setting it is the first use that registers the destructor)
    ~pool_exit() {
        auto& o = orphans();
        std::lock_guard lock(o.mutex);
        for (std::size_t c = 0; c < classes; ++c) {
            o.lists[c] = chain(std::exchange(t_pool.lists[c], nullptr), o.lists[c]);
        }
        // Thread-locals destroyed after this (made before the thread's first frame) may still
        // free frames: those go to the orphanage directly.
        t_pool.exited = true;
        t_pool.adopted = false;
    }
};
thread_local pool_exit t_pool_exit;

#ifndef COVEN_NO_FRAME_POOL
/// A thread's first allocation: it takes the blocks exited threads left (keeping any it freed
/// already), arranges to leave its own when it exits, and registers its frame counter, so that
/// the fast path may use t_frame_count unchecked once `adopted` is set.
void adopt(thread_pool_state& pool) {
    t_pool_exit.armed = true;
    frame_count_add(0);
    auto& o = orphans();
    std::lock_guard lock(o.mutex);
    for (std::size_t c = 0; c < classes; ++c) {
        // Theirs (maybe long) behind ours (short: freed before the first allocation).
        pool.lists[c] = chain(pool.lists[c], std::exchange(o.lists[c], nullptr));
    }
    pool.took_orphans = true;
    pool.adopted = t_frame_count != nullptr; // (null: the counter is gone already, thread exit)
}

/// A free after pool_exit ran: straight to the orphanage, or the block would be lost.
[[gnu::noinline]] void orphan_block(free_block* b, std::size_t c) noexcept {
    auto& o = orphans();
    std::lock_guard lock(o.mutex);
    b->next = nullptr;
    o.lists[c] = chain(b, o.lists[c]);
}

/// A thread's first free, before any allocation: the blocks it frees must reach the orphanage
/// when it exits, even if it never allocates (a loop thread that only ends tasks made elsewhere).
[[gnu::noinline]] void arm_exit() noexcept {
    t_pool_exit.armed = true;
}
#endif

// Allocation-failure injection (TESTING.md seam 5): > 0 counts down to a failing allocation.
std::atomic<std::int64_t> g_fail_countdown{0};

} // namespace

namespace {
/// Everything but a pooled allocation served from a free list or the current slab: injected
/// failures, large frames, adopting an exited thread's blocks, a new slab. Out of line, so that
/// the fast path saves no registers.
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
        std::size_t c = (size + granule - 1) / granule - 1;
        auto& pool = t_pool;
        if (!pool.took_orphans && !pool.exited) {
            adopt(pool);
        }
        if (free_block* b = pool.lists[c]) {
            pool.lists[c] = b->next;
            p = b;
        } else {
            p = pool.carve((c + 1) * granule);
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
        std::size_t c = (size + granule - 1) / granule - 1;
        auto& pool = t_pool;
        if (pool.adopted) [[likely]] {
            void* p = pool.lists[c];
            const std::size_t bytes = (c + 1) * granule;
            if (p != nullptr) {
                pool.lists[c] = static_cast<free_block*>(p)->next;
            } else if (static_cast<std::size_t>(pool.bump_end - pool.bump) >= bytes) {
                p = pool.bump;
                pool.bump += bytes;
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
    t_pool.adopted = false; // the fast path bumps t_frame_count unchecked
#endif
}

void fail_frame_allocation_after(std::int64_t n) noexcept {
    g_fail_countdown.store(n > 0 ? n : 0, std::memory_order_relaxed);
}

auto frame_allocation_failure_armed() noexcept -> bool {
    return g_fail_countdown.load(std::memory_order_relaxed) > 0;
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
    std::size_t c = (size + granule - 1) / granule - 1;
    auto& pool = t_pool;
    auto* b = static_cast<free_block*>(p);
    if (!pool.adopted) [[unlikely]] {
        if (pool.exited) {
            orphan_block(b, c);
            return;
        }
        arm_exit(); // (cheap after the first time: the hook is registered once)
    }
    b->next = pool.lists[c];
    pool.lists[c] = b;
#endif
}

} // namespace coven::detail
