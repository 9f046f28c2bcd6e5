#pragma once
// coven::task_group: scarletio's TaskGroup (S7): a set of futures to wait on together, as a
// whole, first come, first failed, or one by one as they complete.

#include <coven/any_future.hpp>
#include <coven/detail/intrusive_list.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/task.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coven {

class task_group;

namespace detail {
struct group_node;
struct task_group_kernel;
} // namespace detail

/// scarletio's TaskGroup (S7): tasks created in it, or futures added to it, are waited on
/// together. It tracks; it does not own: a task keeps running if the group goes away first, and
/// a task's error stays in its future (check the done set, or use wait_exception()).
///
/// **Cancellation:** cancelling a task that waits on the group raises cancelled_error in it and
/// leaves the group's tasks running (cancel_all() stops them); its waiter is unlinked at once. A
/// waiter that was woken with its result before the cancel reached it returns that result (a
/// future wait_next() handed out is never lost), and the cancellation stays pending for its next
/// await. A wait whose condition holds already does not suspend, so it does not see a pending
/// cancellation. An interrupt (task_interrupt()) leaves the same way.
/// **Throws:** the waits raise none of the tasks' exceptions; they throw cancelled_error, and
/// usage_error for a wait that has to park outside a coven task or in a task of another loop
/// than the group's, or when the group is destroyed while a task waits on it. Adding a task of
/// another loop is a usage_error; adding allocates (std::bad_alloc).
/// **Thread safety:** the loop's thread.
/// **Example:**
/// ```
/// coven::task_group group(loop);
/// group.create_task(say_after("hello", 1));
/// group.add_future(coven::sleep(2));
/// co_await group.wait_all();
/// ```
class task_group {
public:
    /// A group of tasks of `loop`. **Thread safety:** any thread.
    explicit task_group(event_loop& loop) noexcept : m_loop(&loop) {}
    /// A group on the calling thread's loop. **Throws:** usage_error off a loop thread.
    task_group();
    /// Forgets its tasks (they run on) and wakes the tasks waiting on it, whose waits raise
    /// usage_error.
    ~task_group();
    task_group(const task_group&) = delete;
    auto operator=(const task_group&) -> task_group& = delete;

    /// Spawns `t` on the group's loop and adds it.
    /// **Throws:** what event_loop::create_task() throws; std::bad_alloc (the task is then
    /// spawned but not in the group).
    template <class T>
    auto create_task(task<T> t, std::string name = {}) -> future<T> {
        auto f = m_loop->create_task(std::move(t), std::move(name));
        add(&f.promise());
        return f;
    }
    /// Adds a future (of a task of the same loop): `group.add_future(coven::sleep(2))`. A task
    /// that has ended already is done in the group at once.
    /// **Throws:** usage_error for a task of another loop, from a thread that does not drive the
    /// task's loop, or for an empty future; std::bad_alloc (nothing is added then).
    template <class T>
    auto add_future(future<T> f) -> future<T> {
        add(&f.promise());
        return f;
    }
    /// Also takes what converts to a future<void>, such as `coven::sleep(2)`.
    auto add_future(future<void> f) -> future<void> {
        add(&f.promise());
        return f;
    }

    /// Waiting on the group; what co_await gives depends on the kind.
    class [[nodiscard, gnu::warn_unused]] wait_awaiter : private detail::waiter {
    public:
        enum class kind { all, first, next, exception };
        wait_awaiter(task_group & g, kind k) noexcept : m_group(&g), m_kind(k) {}
        wait_awaiter(const wait_awaiter&) = delete;
        auto operator=(const wait_awaiter&)->wait_awaiter& = delete;
        ~wait_awaiter();
        [[nodiscard]] auto await_ready() noexcept->bool;
        auto await_suspend(std::coroutine_handle<> h)->bool;
        /// all: empty; first: the first future to have completed; next: the next one in
        /// completion order not handed out yet; exception: the first that failed or was
        /// cancelled. Empty where there is none.
        auto await_resume()->std::optional<any_future>;

    private:
        friend struct detail::task_group_kernel;
        friend class task_group;
        task_group* m_group;
        detail::promise_base* m_task = nullptr;
        wait_awaiter* m_prev_waiter = nullptr;
        wait_awaiter* m_next_waiter = nullptr;
        std::optional<any_future> m_result; // decided when it was woken
        kind m_kind;
        bool m_parked = false;
        bool m_cancel_seen = false;
        bool m_group_destroyed = false;
    };

    /// Waits until every future in the group is done (returns at once if none is pending). Raises
    /// none of their exceptions.
    [[nodiscard]] auto wait_all() -> wait_awaiter { return {*this, wait_awaiter::kind::all}; }
    /// Waits until one is done and returns the first that completed (empty if the group is empty).
    [[nodiscard]] auto wait_first() -> wait_awaiter { return {*this, wait_awaiter::kind::first}; }
    /// Returns the futures one by one in the order they complete, waiting when needed; empty
    /// once every one has been returned:
    /// `while (auto f = co_await group.wait_next()) { ... }`.
    [[nodiscard]] auto wait_next() -> wait_awaiter { return {*this, wait_awaiter::kind::next}; }
    /// Waits until one fails (exception or cancellation) and returns it; empty if all finished
    /// without failing.
    [[nodiscard]] auto wait_exception() -> wait_awaiter {
        return {*this, wait_awaiter::kind::exception};
    }

    /// Cancels every pending task; returns how many were asked.
    /// **Throws:** usage_error from a thread that does not drive the group's loop while it runs.
    auto cancel_all() -> std::size_t;
    /// The futures that are done, in completion order, and those still pending.
    /// **Throws:** usage_error from a thread that does not drive the group's loop while it runs;
    /// std::bad_alloc.
    [[nodiscard]] auto done() const -> std::vector<any_future>;
    [[nodiscard]] auto pending() const -> std::vector<any_future>;
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_nodes.size(); }

private:
    friend struct detail::task_group_kernel;
    void add(detail::promise_base* p);

    event_loop* m_loop;
    std::vector<detail::group_node*> m_nodes; // in adding order
    std::vector<detail::group_node*> m_done;  // in completion order
    std::size_t m_next_unhanded = 0;          // wait_next(): index into m_done
    // The tasks waiting, in the order they came (fair among wait_next() consumers).
    detail::intrusive_list<wait_awaiter, &wait_awaiter::m_prev_waiter, &wait_awaiter::m_next_waiter>
        m_waiters;
};

} // namespace coven
