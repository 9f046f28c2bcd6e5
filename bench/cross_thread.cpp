#include "cross_thread.hpp"

#include <coven/event.hpp>
#include <coven/thread_safe_future.hpp>

#include <thread>
#include <vector>

namespace coven_bench {
namespace {
auto value(int i) -> coven::task<int> {
    co_return i;
}
} // namespace

auto cross_thread_spawns(coven::event_loop& loop, std::uint64_t n, std::uint64_t& sum)
    -> coven::task<void> {
    constexpr std::uint64_t window = 1000;
    coven::event done;
    std::thread producer([&] {
        std::vector<coven::thread_safe_future<int>> ring(window);
        for (std::uint64_t i = 0; i < n + window; ++i) {
            auto& slot = ring[i % window];
            if (i >= window) {
                sum += static_cast<std::uint64_t>(slot.sync_wrap().wait());
            }
            if (i < n) {
                slot = loop.create_task_thread_safe(value(static_cast<int>(i & 0xffff)));
            }
        }
        loop.call_soon_threadsafe([&done] { done.set(); });
    });
    co_await done.wait();
    producer.join();
}

} // namespace coven_bench
