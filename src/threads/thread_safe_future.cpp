#include <coven/detail/kernel.hpp>

#include <coven/thread_safe_future.hpp>

#include <memory>

namespace coven::detail {

namespace {

/// Wakes the waiting task on its own loop's thread, if it still waits.
struct remote_wake final : remote_item {
    explicit remote_wake(std::shared_ptr<remote_waiter> w) : m_waiter(std::move(w)) {}
    void run() override {
        if (promise_base* task = std::exchange(m_waiter->m_task, nullptr)) {
            count_foreign_wait(task, -1);
            wake(task);
        }
    }
    std::shared_ptr<remote_waiter> m_waiter;
};

} // namespace

void prepare_remote_wake(const std::shared_ptr<remote_waiter>& w) {
    w->m_wake = std::make_unique<remote_wake>(w); // a cycle until posted or dropped
}

void post_remote_wake(remote_waiter& w) noexcept {
    remote_item* item = w.m_wake.release();
    if (item != nullptr && !post(w.m_loop, item)) {
        delete item; // that loop is stopping: its shutdown cancels the waiter, which then finds
                     // the outcome itself
    }
}

void drop_remote_wake(remote_waiter& w) noexcept {
    w.m_wake.reset();
}

} // namespace coven::detail
