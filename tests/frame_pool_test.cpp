// The per-thread frame pool (src/frame_pool.cpp): blocks never overlap across many slabs, freed
// blocks are handed out again, and a thread's first allocation keeps what it freed before.
#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t frame_size = 128;
// 5 MiB of 128-byte frames: across some eighty 64 KiB slabs.
constexpr std::size_t frame_total = 40'000;

auto allocate_all() -> std::vector<void*> {
    std::vector<void*> blocks;
    blocks.reserve(frame_total);
    for (std::size_t i = 0; i < frame_total; ++i) {
        void* p = coven::detail::allocate_frame(frame_size);
        // Fill the whole block: a block that overlapped another would clobber its neighbour.
        std::memset(p, static_cast<int>(i % 251), frame_size);
        blocks.push_back(p);
    }
    return blocks;
}

void free_all(const std::vector<void*>& blocks) {
    for (void* p : blocks) {
        coven::detail::deallocate_frame(p, frame_size);
    }
}

} // namespace

TEST(FramePool, BulkAllocationsNeverOverlapAndKeepTheirContents) {
    std::vector<void*> blocks = allocate_all();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto* bytes = static_cast<const unsigned char*>(blocks[i]);
        const auto expected = static_cast<unsigned char>(i % 251);
        EXPECT_TRUE(
            std::all_of(bytes, bytes + frame_size, [&](unsigned char b) { return b == expected; }))
            << "block " << i << " was overwritten";
    }
    std::vector<std::uintptr_t> sorted;
    for (void* p : blocks) {
        sorted.push_back(reinterpret_cast<std::uintptr_t>(p));
    }
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        ASSERT_GE(sorted[i] - sorted[i - 1], frame_size) << "blocks overlap";
    }
    free_all(blocks);
}

TEST(FramePool, AFrameFreedByAThreadLocalDestroyedLateIsStillCounted) {
    // A thread_local made before the thread's first frame (say, a thread_local event_loop) is
    // destroyed after the thread's frame counter: the frame it frees then must still count.
    const std::int64_t before = coven::detail::live_frames();
    std::thread([] {
        struct holder {
            void* frame = nullptr;
            ~holder() {
                if (frame != nullptr) {
                    coven::detail::deallocate_frame(frame, frame_size);
                }
            }
        };
        thread_local holder late; // registered before the pool's and the counter's exit hooks
        late.frame = coven::detail::allocate_frame(frame_size);
    }).join();
    EXPECT_EQ(coven::detail::live_frames(), before);
}

#ifndef COVEN_NO_FRAME_POOL // (sanitizer builds use operator new for every frame)
TEST(FramePool, AFrameFreedAfterItsThreadsPoolHandedOnReachesTheNextThread) {
    void* freed_late = nullptr;
    std::thread([&] {
        struct holder {
            void* frame = nullptr;
            ~holder() { coven::detail::deallocate_frame(frame, frame_size); }
        };
        thread_local holder late;
        late.frame = coven::detail::allocate_frame(frame_size);
        freed_late = late.frame;
    }).join();
    void* got = nullptr;
    std::thread([&] {
        got = coven::detail::allocate_frame(frame_size);
        coven::detail::deallocate_frame(got, frame_size);
    }).join();
    EXPECT_EQ(got, freed_late);
}
TEST(FramePool, FreedBlocksAreHandedOutAgainBeforeNewMemory) {
    std::vector<void*> first = allocate_all();
    const std::set<void*> before(first.begin(), first.end());
    free_all(first);
    std::vector<void*> second = allocate_all();
    const std::set<void*> after(second.begin(), second.end());
    free_all(second);
    EXPECT_EQ(before, after);
}

// (A size no other test uses: this thread's free list for it starts empty, so the next
// allocation looks at the blocks other threads gave back.)
constexpr std::size_t odd_size = 1000;

/// True if this thread's next allocations of odd_size hand out `block` again before they have
/// used up one slab (a thread reuses blocks given back once its current slab is used up).
auto comes_back_within_a_slab(void* block) -> bool {
    std::vector<void*> got;
    bool found = false;
    for (std::size_t i = 0; i <= 64 * 1024 / 1008 + 1 && !found; ++i) {
        got.push_back(coven::detail::allocate_frame(odd_size));
        found = got.back() == block;
    }
    for (void* p : got) {
        coven::detail::deallocate_frame(p, odd_size);
    }
    return found;
}

TEST(FramePool, ABlockFreedOnAnotherThreadGoesBackToTheThreadThatMadeIt) {
    // A task made on one thread and ended on another frees its frame there: the block returns
    // to the heap it came from, so a producer thread reuses its blocks.
    void* block = coven::detail::allocate_frame(odd_size);
    void* theirs = nullptr;
    std::thread([&] {
        coven::detail::deallocate_frame(block, odd_size);
        theirs = coven::detail::allocate_frame(odd_size); // from the thread's own heap
        coven::detail::deallocate_frame(theirs, odd_size);
    }).join();
    EXPECT_NE(theirs, block);
    EXPECT_TRUE(comes_back_within_a_slab(block));
}

TEST(FramePool, ABlockFreedByAThreadThatNeverAllocatesStillGoesHome) {
    // A loop thread may only end tasks that another thread made.
    void* block = coven::detail::allocate_frame(odd_size);
    std::thread([&] { coven::detail::deallocate_frame(block, odd_size); }).join();
    EXPECT_TRUE(comes_back_within_a_slab(block));
}

TEST(FramePool, AProducerAndAConsumerThreadKeepMemoryBoundedByTheLiveFrames) {
    // One thread makes frames, another frees them, at most `window` alive at a time: before
    // blocks went home, the producer carved a new slab every 500 frames, forever.
    constexpr std::size_t window = 1000;
    constexpr std::size_t total = 200'000;
    std::vector<std::atomic<void*>> ring(window);
    std::atomic<std::size_t> made{0};
    std::atomic<std::size_t> freed{0};
    const std::size_t before = coven::detail::frame_pool_reserved_bytes();
    std::thread producer([&] {
        for (std::size_t i = 0; i < total; ++i) {
            while (i - freed.load(std::memory_order_acquire) >= window) {
                std::this_thread::yield();
            }
            ring[i % window].store(coven::detail::allocate_frame(frame_size),
                                   std::memory_order_relaxed);
            made.store(i + 1, std::memory_order_release);
        }
    });
    std::thread consumer([&] {
        for (std::size_t i = 0; i < total; ++i) {
            while (made.load(std::memory_order_acquire) <= i) {
                std::this_thread::yield();
            }
            coven::detail::deallocate_frame(ring[i % window].load(std::memory_order_relaxed),
                                            frame_size);
            freed.store(i + 1, std::memory_order_release);
        }
    });
    producer.join();
    consumer.join();
    const std::size_t grown = coven::detail::frame_pool_reserved_bytes() - before;
    // The window's frames, blocks on their way home, and a slab or two per thread.
    EXPECT_LE(grown, 8 * window * frame_size + 4 * 64 * 1024)
        << "the pool grew by " << grown << " bytes for " << window << " live frames";
}
#endif
