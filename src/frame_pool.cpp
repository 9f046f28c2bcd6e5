#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
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

struct thread_pool_state {
    free_block* lists[classes] = {};
    char* bump = nullptr;
    char* bump_end = nullptr;
    bool adopted = false;

    ~thread_pool_state() {
        auto& o = orphans();
        std::lock_guard lock(o.mutex);
        for (std::size_t c = 0; c < classes; ++c) {
            while (free_block* b = lists[c]) {
                lists[c] = b->next;
                b->next = o.lists[c];
                o.lists[c] = b;
            }
        }
        // The unused tail of the bump slab is simply abandoned (less than one slab per thread).
    }

    void adopt() {
        adopted = true;
        auto& o = orphans();
        std::lock_guard lock(o.mutex);
        for (std::size_t c = 0; c < classes; ++c) {
            lists[c] = o.lists[c];
            o.lists[c] = nullptr;
        }
    }

    void* carve(std::size_t bytes) {
        if (static_cast<std::size_t>(bump_end - bump) < bytes) {
            // Slabs are intentionally never returned: blocks from them may be live anywhere.
            bump = static_cast<char*>(::operator new(slab_bytes));
            bump_end = bump + slab_bytes;
        }
        void* p = bump;
        bump += bytes;
        return p;
    }
};

thread_local thread_pool_state t_pool;

// Allocation-failure injection (TESTING.md seam 5): > 0 counts down to a failing allocation.
std::atomic<std::int64_t> g_fail_countdown{0};

} // namespace

void* allocate_frame(std::size_t size) {
    if (g_fail_countdown.load(std::memory_order_relaxed) > 0 &&
        g_fail_countdown.fetch_sub(1, std::memory_order_relaxed) == 1) {
        throw std::bad_alloc();
    }
    frame_count_add(1);
#ifdef COVEN_NO_FRAME_POOL
    return ::operator new(size);
#else
    if (size > max_pooled) {
        return ::operator new(size);
    }
    std::size_t c = (size + granule - 1) / granule - 1;
    auto& pool = t_pool;
    if (free_block* b = pool.lists[c]) {
        pool.lists[c] = b->next;
        return b;
    }
    if (!pool.adopted) {
        pool.adopt();
        if (free_block* b = pool.lists[c]) {
            pool.lists[c] = b->next;
            return b;
        }
    }
    return pool.carve((c + 1) * granule);
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
    auto* b = static_cast<free_block*>(p);
    b->next = t_pool.lists[c];
    t_pool.lists[c] = b;
#endif
}

} // namespace coven::detail
