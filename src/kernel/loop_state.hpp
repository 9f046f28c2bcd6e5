#pragma once
// The private state of an event_loop. Everything here is touched only by the thread driving the
// loop, except the fields marked "any thread".

#include "io/backend.hpp"
#include "time/timer_wheel.hpp"

#include <coven/detail/intrusive_list.hpp>
#include <coven/event_loop.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>

#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace coven {
class lock;
} // namespace coven

namespace coven::detail {

struct wait_node;

/// The last wheel tick (microsecond) whose start the loop's nanosecond clock can show.
inline constexpr std::uint64_t max_tick =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1000);

/// The loop-clock nanosecond at which `tick` starts (never past the clock's range).
constexpr auto tick_to_ns(std::uint64_t tick) noexcept -> std::int64_t {
    return tick > max_tick ? std::numeric_limits<std::int64_t>::max()
                           : static_cast<std::int64_t>(tick * 1000);
}

/// How long one iteration may wait in its poll when nothing is ready.
enum class wait_mode {
    until_timer, ///< wait for the next timer, if any, never for I/O alone
    forever,     ///< wait for the next timer or a wake-up
};

/// A FIFO of root tasks linked through promise_base::m_next (a priority loop's levels and its
/// pinned list).
struct task_fifo {
    promise_base* m_head = nullptr;
    promise_base* m_tail = nullptr;
    std::size_t m_size = 0;

    void push_back(promise_base* t) noexcept;
    auto pop_front() noexcept -> promise_base*;
    /// Links `t` so that `pos` tasks come before it (at the end if fewer are queued).
    void insert_at(std::size_t pos, promise_base* t) noexcept;
    /// Unlinks `t`; its index, or -1 if it is not here.
    auto remove(const promise_base* t) noexcept -> std::ptrdiff_t;
};

/// Priority inheritance (K22) bookkeeping of one task, kept only while it waits in a
/// priority_lock or holds one that others wait for (src/priority.cpp).
struct inherit_record {
    std::int16_t base = 0;      // its own priority; m_priority holds the effective one
    std::vector<lock*> held;    // priority locks it holds that have waiters
    lock* waiting_on = nullptr; // the priority lock it waits in
    wait_node* node = nullptr;  // its node there
};

struct loop_state : loop_core {
    explicit loop_state(event_loop* self, loop_options options);

    event_loop* m_self;
    loop_options m_options;

    // The ready queue (FIFO of root tasks, linked through promise_base::m_next) is loop_core's.

    // Tasks parked in skip_poll_cycle(), woken after the next poll (sentinel of a circular list).
    poll_link m_after_poll;

    // Registry of live root tasks (doubly linked through m_reg_prev / m_reg_next).
    intrusive_list<promise_base, &promise_base::m_reg_prev, &promise_base::m_reg_next> m_registry;
    stat_counter<std::uint64_t> m_live; // (statistics() reads the counters from any thread)
    std::int64_t m_foreign_waits = 0;   // see count_foreign_wait()
    // Exceptions thrown into tasks and not raised yet (throw_into_root(); f_interrupt).
    std::unordered_map<const promise_base*, std::exception_ptr> m_interrupts;
    std::uint64_t m_interrupts_raised = 0; // how many raise_interrupt() raised (task_interrupt())

    timer_wheel m_wheel;
    std::unique_ptr<io_backend> m_io; // the I/O engine (never null)

    // Clock. m_virtual_ns: any thread reads it; the driver (or advance()) writes it.
    event_loop::time_point m_origin;
    std::atomic<std::int64_t> m_virtual_ns{0};

    // Cross-thread submissions: a Treiber stack that the driver takes whole (any thread).
    std::atomic<remote_item*> m_remote{nullptr};

    std::atomic<std::thread::id> m_driver{};   // any thread
    std::atomic<bool> m_stop_requested{false}; // any thread
    std::atomic<bool> m_background{false};     // any thread: driven by m_thread
    std::mutex m_lifecycle;                    // serialises start() / stop()
    std::thread m_thread;

    // Written by the driver only; statistics() reads them from any thread.
    stat_counter<std::uint64_t> m_spawned, m_runs, m_polls, m_forced_polls;
    std::function<void(std::exception_ptr)> m_exception_handler;

    // --- priority loops (K19, K23; src/ready_queue.cpp) ---
    // In a priority loop, loop_core's list is an inbox of what became ready since the last pick;
    // settle() sorts it into m_levels: one FIFO per priority value, most urgent first, no empty
    // ones. A task put at a position (sleep_insert(), task_reinsert(), task_switch()) goes to
    // m_pinned instead, which runs before every level.
    struct level {
        std::int16_t priority;
        task_fifo tasks;
        std::size_t old = 0; // how many at its head were queued at the last upkeep (K23)
    };
    bool m_prioritized = false;
    task_fifo m_pinned;
    std::vector<level> m_levels;
    std::uint64_t m_picks_since_upkeep = 0;
    std::uint64_t m_upkeep_every = 16;
    stat_counter<std::uint64_t> m_boosted;
    // Priority inheritance (K22; src/priority.cpp): only tasks that take part have a record.
    std::unordered_map<const promise_base*, inherit_record> m_inherit;

    // --- driver-side operations ---
    /// The loop clock in nanoseconds since its origin (inline: every timer armed reads it).
    [[nodiscard]] auto now_ns() const noexcept -> std::int64_t {
        if (m_options.clock == clock_kind::virtual_time) {
            return m_virtual_ns.load(std::memory_order_acquire);
        }
        return (event_loop::clock::now() - m_origin).count();
    }
    [[nodiscard]] auto now_tick() const noexcept -> std::uint64_t;
    void run_ready() noexcept;
    template <bool Prioritized>
    void run_ready_as() noexcept;
    /// True if a task is ready (in any of a priority loop's lists).
    [[nodiscard]] auto has_ready() const noexcept -> bool {
        return m_ready_head != nullptr ||
               (m_prioritized && (m_pinned.m_head != nullptr || !m_levels.empty()));
    }
    /// Priority loop: sorts the inbox into the levels.
    void settle() noexcept;
    /// Priority loop: takes the next task to run (pinned first, then the most urgent level),
    /// doing the K23 upkeep when it is due; null if none is ready.
    auto pick_prioritized() noexcept -> promise_base*;
    /// Priority loop: `t` is queued in a level and its priority changed: moves it to the tail
    /// of its new level. A task in the inbox or pinned stays where it is.
    void requeue_prioritized(promise_base* t, std::int16_t old_priority) noexcept;
    /// Takes the first task of the most urgent level (there must be one).
    auto pop_top() noexcept -> promise_base*;
    /// Removes `t` from level `it` (erasing the level if it empties); false if not there.
    auto remove_from_level(std::vector<level>::iterator it, const promise_base* t) noexcept -> bool;
    /// Number of ready tasks.
    [[nodiscard]] auto ready_count() noexcept -> std::size_t;
    /// Calls `fn(t)` for every ready task in the order they will run (a priority loop settles
    /// first).
    template <class F>
    void for_each_ready(F&& fn) {
        if (m_prioritized) {
            settle();
            for (promise_base* t = m_pinned.m_head; t; t = t->m_next) {
                fn(t);
            }
            for (auto& l : m_levels) {
                for (promise_base* t = l.tasks.m_head; t; t = t->m_next) {
                    fn(t);
                }
            }
        } else {
            for (promise_base* t = m_ready_head; t; t = t->m_next) {
                fn(t);
            }
        }
    }
    /// Queues root `t` (not queued now) so that `pos` ready tasks run before it.
    void insert_ready_at(std::size_t pos, promise_base* t) noexcept;
    /// One iteration; `until`: stop before polling once that task has ended.
    void run_once(wait_mode mode, const promise_base* until = nullptr);
    void drain_remote() noexcept;
    void shutdown();
    /// shutdown()'s first step for a stuck task whose frame it destroys: out of the ready queue;
    /// its wait is forgotten (the awaiter unlinks itself).
    void leave_for_good(promise_base* t) noexcept;
    /// shutdown()'s part for a stuck task nothing refers to: its side-table state goes, then
    /// its frame.
    void destroy_stuck(promise_base* t) noexcept;
    /// shutdown()'s part for a stuck task that a future still refers to: its frame is destroyed,
    /// and its futures find it ended cancelled.
    void drop_referenced(promise_base* t) noexcept;
    void register_root(promise_base* t) noexcept;
    void unregister_root(promise_base* t) noexcept;
    /// Removes a scheduled task from the ready queue (O(queue)); false if it was not queued.
    auto unqueue(promise_base* t) noexcept -> bool;
    /// True if another thread posted work not taken yet (a closed queue has none).
    [[nodiscard]] auto has_posted() const noexcept -> bool;
    /// Reopens the cross-thread queue that a finished shutdown closed.
    void reopen_remote() noexcept;
    /// Closes the cross-thread queue (post() fails from now on) and returns what was posted and
    /// not taken yet (null if nothing), for run_posted().
    auto close_remote() noexcept -> remote_item*;
    /// Runs posted items in the order they were posted, and frees them.
    static void run_posted(remote_item* items) noexcept;
};

/// Task-local values (src/task_local.cpp): a new root copies its maker's; an ended root's go.
void inherit_locals(promise_base* new_root);
void drop_locals(const promise_base* root) noexcept;
/// True if code outside tasks on this thread has set task_local values.
auto has_thread_locals() noexcept -> bool;

/// Throws usage_error naming `what` unless the calling thread drives `loop` (or may: nobody
/// drives it and it has no background thread).
void require_driving(const loop_state& loop, const char* what);

/// Priority inheritance (src/priority.cpp): a root that ends, or that stop() destroys, leaves
/// the records.
void forget_inherit(promise_base* root) noexcept;

/// The loop that runs a root task.
inline auto state_of(const promise_base* t) noexcept -> loop_state* {
    return static_cast<loop_state*>(t->m_loop);
}

// --- shared by the kernel's files only ---

/// The loop this thread drives (null if none, and inside await_sync(), which hides it).
inline thread_local loop_state* t_loop = nullptr;

/// Gives a root task its turn on this thread: resumes it, then the awaited sub-tasks it transfers
/// to (see t_transfer), until it suspends or ends. The loop's turns, eager first turns
/// (start_now()) and await_sync() runs all go through here.
inline void give_turn(promise_base* t) noexcept {
    t_current_task = t;
    t->m_resume.resume();
    while (std::coroutine_handle<> next = t_transfer) {
        t_transfer = nullptr;
        next.resume();
    }
}

/// Ends a root by destroying its frame where it waits (src/kernel/drop.cpp): abort() at what
/// would be its turn, loop stop for a stuck task a future refers to.
[[gnu::cold]] void drop_root(promise_base* t) noexcept;
/// Forgets the name of a named root whose frame goes (src/kernel/names.cpp).
void forget_name(const promise_base* t) noexcept;

} // namespace coven::detail
