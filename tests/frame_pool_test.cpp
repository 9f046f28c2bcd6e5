// The per-thread frame pool (src/frame_pool.cpp): blocks never overlap across many slabs, freed
// blocks are handed out again, and a thread's first allocation keeps what it freed before.
#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(FramePool, BlocksAThreadFreedBeforeItsFirstAllocationAreKept) {
    void* block = coven::detail::allocate_frame(frame_size);
    void* again = nullptr;
    std::thread([&] {
        // A task made on one thread and ended on another frees its frame there; the thread's
        // first allocation (of another size) must not drop that block from its free list.
        coven::detail::deallocate_frame(block, frame_size);
        void* other = coven::detail::allocate_frame(2 * frame_size);
        again = coven::detail::allocate_frame(frame_size);
        coven::detail::deallocate_frame(other, 2 * frame_size);
        coven::detail::deallocate_frame(again, frame_size);
    }).join();
    EXPECT_EQ(again, block);
}

TEST(FramePool, BlocksFreedByAThreadThatNeverAllocatesOutliveItForTheNextThread) {
    // A loop thread may only end tasks that another thread made: when it exits, the blocks it
    // freed go to the store that the next thread takes its first blocks from.
    void* block = coven::detail::allocate_frame(frame_size);
    std::thread([&] { coven::detail::deallocate_frame(block, frame_size); }).join();
    void* got = nullptr;
    std::thread([&] {
        got = coven::detail::allocate_frame(frame_size);
        coven::detail::deallocate_frame(got, frame_size);
    }).join();
    EXPECT_EQ(got, block);
}
#endif
