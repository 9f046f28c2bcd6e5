// The cross-thread queue (ARCHITECTURE §1): a Treiber stack that any thread pushes onto and the
// driver takes whole. Closed by a marker when the loop has stopped.

#include "loop_state.hpp"

#include <string>

namespace coven::detail {
namespace {

struct closed_item final : remote_item {
    void run() override {}
};
closed_item g_closed;

} // namespace

// ---------------------------------------------------------------- cross-thread queue

auto post(loop_core* loop, remote_item* item) noexcept -> bool {
    return post(*static_cast<loop_state*>(loop), item);
}

auto post(loop_state& loop, remote_item* item) noexcept -> bool {
    remote_item* old = loop.m_remote.load(std::memory_order_relaxed);
    do {
        if (old == &g_closed) {
            return false;
        }
        item->m_next = old;
    } while (!loop.m_remote.compare_exchange_weak(old, item, std::memory_order_release,
                                                  std::memory_order_relaxed));
    // Only the push that makes the stack non-empty writes the eventfd: every later push finds
    // it non-empty until the driver takes it, and the driver always looks after a wake-up.
    if (old == nullptr) {
        loop.m_io->wake();
    }
    return true;
}

void throw_closed_to_threads(const char* what) {
    throw usage_error(std::string("coven: ") + what +
                      " on a loop that has stopped: stop() closed it to other threads until "
                      "it runs again; start() it, or drive it with run_until_complete(), "
                      "first");
}

namespace {

void run_items(remote_item* head) noexcept {
    remote_item* fifo = nullptr; // the stack is LIFO: reverse it
    while (head) {
        remote_item* next = head->m_next;
        head->m_next = fifo;
        fifo = head;
        head = next;
    }
    while (fifo) {
        remote_item* next = fifo->m_next;
        try {
            fifo->run();
        } catch (...) {
            report_callback_error(std::current_exception());
        }
        delete fifo;
        fifo = next;
    }
}

} // namespace

void loop_state::drain_remote() noexcept {
    remote_item* head = m_remote.load(std::memory_order_relaxed);
    if (head == nullptr || head == &g_closed) {
        return;
    }
    head = m_remote.exchange(nullptr, std::memory_order_acquire);
    if (head == &g_closed) { // cannot happen while driven, but never run the marker
        m_remote.store(&g_closed, std::memory_order_relaxed);
        return;
    }
    run_items(head);
}

auto loop_state::has_posted() const noexcept -> bool {
    remote_item* head = m_remote.load(std::memory_order_relaxed);
    return head != nullptr && head != &g_closed;
}

void loop_state::reopen_remote() noexcept {
    remote_item* closed = &g_closed;
    m_remote.compare_exchange_strong(closed, nullptr);
}

auto has_background_thread(const loop_state& loop) noexcept -> bool {
    return loop.m_background.load(std::memory_order_acquire);
}

auto loop_state::close_remote() noexcept -> remote_item* {
    remote_item* rest = m_remote.exchange(&g_closed, std::memory_order_acq_rel);
    return rest == &g_closed ? nullptr : rest;
}

void loop_state::run_posted(remote_item* items) noexcept {
    run_items(items);
}

} // namespace coven::detail
