#pragma once
// The part of every task's promise that the loop works with.
//
// A task<T> frame plays one of two roles:
//  - child: awaited directly by another coroutine (`co_await some_task()`); it runs inside the
//    awaiting task's turn and transfers back to its continuation when it ends;
//  - root: spawned by event_loop::create_task; the loop schedules it, and it is the unit that
//    is cancelled, named and waited for through future<T>.
//
// Root state (who touches what): only the loop's thread touches these fields.
//
//   m_next         link in the loop's ready queue, while f_scheduled
//   m_waiter       the awaiter the task is parked in while it is not scheduled (null while it
//                  runs); cancel() calls its on_cancel hook, which unlinks it and wakes the task.
//                  A task is never parked and queued at once, so the two share one word
//                  (parked_waiter() reads it safely)
//   m_resume       root: the innermost suspended coroutine of this task, what the loop resumes;
//                  child: the continuation to transfer to at the end
//   m_completions  circular list of awaiting tasks and done-callbacks, fired once at the end
//   m_refs         one per future handle, plus one held by the loop until the task ends;
//                  the frame is destroyed when the task has ended and the count is zero
//
//   m_priority     its effective priority (K18-K23); only priority loops and priority locks
//                  read it
//
//   m_scope        the innermost cancel_scope the task runs inside (null outside any); each
//                  scope links to its parent, so the chain is the task's stack of scopes
//
// Cancellation (ARCHITECTURE §3): cancel() sets f_cancel_requested. A parked task is woken by its
// waiter's hook and the awaiter throws cancelled_error from await_resume; a running task sees
// the request at its next suspension. Delivering the error consumes the request, so a task that
// catches it can await again during its cleanup. A cancelled scope is level-triggered instead:
// every await inside it raises until the scope is left, and a shielded scope keeps everything
// outside it from reaching in (src/cancel_scope.cpp).

#include <coven/detail/accounting.hpp>
#include <coven/detail/frame_pool.hpp>
#include <coven/detail/kernel.hpp>
#include <coven/error.hpp>
#include <coven/source_location.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

namespace coven {
class cancel_scope;
} // namespace coven

namespace coven::detail {

struct promise_base;
struct loop_state;
struct loop_core;

/// What a waiter's cancel hook did: the one protocol every way of parking follows (Trio's
/// wait_task_rescheduled() and its Abort.SUCCEEDED / FAILED, with what abort() needs besides).
enum class cancel_result : std::uint8_t {
    /// Unlinked from what it waited on, and the task woken: its await raises cancelled_error.
    /// Nothing is owed to anyone if its frame is destroyed instead of resumed, so abort() may
    /// drop the task here (a sleep, a wait in a primitive's queue that hands nothing on).
    unlinked_owes_nothing,
    /// Unlinked and woken, but the task must resume to leave cleanly (a child task to unwind, a
    /// value to give back).
    unlinked,
    /// Left parked: what it waits for finishes first and wakes it (a call running on a pool,
    /// a lock already handed to it, the end of a task it cancelled in turn, an I/O operation the
    /// engine still holds).
    stays_parked,
};

/// A suspension point that cancel() can reach.
struct waiter {
    /// Called on the loop's thread when the parked task is cancelled (or something is thrown
    /// into it); says what it did (cancel_result). It runs no task: it only unlinks and wakes.
    cancel_result (*m_on_cancel)(waiter* self, promise_base* task) noexcept = nullptr;
};

/// Node in a root task's list of things to notify when it ends.
struct completion_node {
    completion_node* m_prev = nullptr;
    completion_node* m_next = nullptr;
    void (*m_fire)(completion_node* self, promise_base* finished) noexcept = nullptr;
    /// Loop stop gives up on the task (it ignored cancellation and waits on something that will
    /// never come) and destroys it while no future refers to it: called after the node is
    /// unlinked (null: just unlinked). For a bookkeeping_node, the kernel's marker instead.
    void (*m_dropped)(completion_node* self, promise_base* task) noexcept = nullptr;
    [[nodiscard]] auto linked() const noexcept -> bool { return m_next != nullptr; }
    /// True for a facade's own record of the task (bookkeeping_node), not someone waiting for
    /// its outcome.
    [[nodiscard]] inline auto bookkeeping() const noexcept -> bool;
};

/// The marker in m_dropped of a bookkeeping_node (src/kernel/root.cpp; never called).
void bookkeeping_marker(completion_node* self, promise_base* task) noexcept;

/// A facade's own record of a task (a scope's child, a group's member, an apply_timeout()
/// deadline), not someone waiting for its outcome, so that the kernel needs to know no facade
/// by name: unjoin_if_alone() does not count it, and loop stop, giving up on a stuck task,
/// unlinks it and calls `m_on_stop` before any stuck frame goes, so that a reference it holds
/// is dropped and the task can count as unreferenced.
struct bookkeeping_node : completion_node {
    explicit bookkeeping_node(void (*on_stop)(completion_node* self,
                                              promise_base* task) noexcept) noexcept
        : m_on_stop(on_stop) {
        m_dropped = &bookkeeping_marker;
    }
    void (*m_on_stop)(completion_node* self, promise_base* task) noexcept;
};

inline auto completion_node::bookkeeping() const noexcept -> bool {
    return m_dropped == &bookkeeping_marker;
}

struct promise_base {
    enum flag : std::uint16_t {
        f_root = 1 << 0,
        f_done = 1 << 1,
        f_cancel_requested = 1 << 2,
        f_cancelled = 1 << 3, // outcome: ended by cancelled_error
        f_scheduled = 1 << 4,
        f_observed = 1 << 5, // its exception was retrieved by someone
        f_named = 1 << 6,
        // Roots before their end only, sharing f_observed's bit (which is set only after the
        // end), and only with f_cancel_requested (whatever consumes the request clears both):
        // the pending cancel came while the task was queued after its last wait had finished,
        // so the wait's result arrived first. If the task returns before it awaits again, it
        // keeps its value (root_finished(), src/kernel/root.cpp).
        f_late_cancel = 1 << 5,
        // abort() dropped it: its frame is destroyed at its next turn instead of resumed; with
        // f_done, the frame is gone and only the promise's state is left (frame_dropped())
        f_dropped = 1 << 7,
        f_awaited = 1 << 8, // a child task<T> that has been started
        // Roots only, sharing f_awaited's bit (a root is never awaited, spawn() refuses one
        // that was): loop stop cancelled it in its current round.
        f_shutdown_cancelled = f_awaited,
        f_started = 1 << 9,      // a root that has had its first turn
        f_scoped = 1 << 10,      // m_scope is not null: cancellation checks walk the scopes
        f_timed_out = 1 << 11,   // future::apply_timeout() expired and cancelled it
        f_cancel_sent = 1 << 12, // cancel_root() was called at least once (never cleared)
        f_joined = 1 << 13,      // someone awaits its future or has a done-callback on it
        f_has_locals = 1 << 14,  // it has task_local values (src/task_local.cpp)
        f_interrupt = 1 << 15,   // an exception thrown into it waits in its loop (throw_into_root)
    };

    union {
        promise_base* m_next = nullptr;
        waiter* m_waiter;
    };
    std::coroutine_handle<> m_resume;
    completion_node* m_completions = nullptr;
    loop_core* m_loop = nullptr; // the loop_state (src/) that runs this root
    promise_base* m_reg_prev = nullptr;
    promise_base* m_reg_next = nullptr;
    std::exception_ptr m_exception;
    cancel_scope* m_scope = nullptr;
    void (*m_destroy)(promise_base*) noexcept = nullptr;
    std::uint32_t m_refs = 0;
    std::uint16_t m_flags = 0;
    /// A root's effective priority (K18, K22): lower runs first in a priority loop and waits
    /// less in a priority_lock. It is its own priority, or a more urgent one inherited from the
    /// waiters of the priority locks it holds (the own one is then kept aside,
    /// src/priority.cpp). It fills what was padding, so it costs no frame space.
    std::int16_t m_priority = 0;

    [[nodiscard]] auto has(flag f) const noexcept -> bool { return (m_flags & f) != 0; }
    void set(flag f) noexcept { m_flags = static_cast<std::uint16_t>(m_flags | f); }
    void clear(flag f) noexcept { m_flags = static_cast<std::uint16_t>(m_flags & ~f); }

    /// The waiter the task is parked in, or null when it runs or is queued.
    [[nodiscard]] auto parked_waiter() const noexcept -> waiter* {
        return has(f_scheduled) ? nullptr : m_waiter;
    }

    /// Consumes a pending cancel request; true if there was one.
    auto take_cancel() noexcept -> bool {
        if (!has(f_cancel_requested)) {
            return false;
        }
        m_flags = static_cast<std::uint16_t>(m_flags & ~(f_cancel_requested | f_late_cancel));
        return true;
    }

    /// A dropped root whose frame is gone (drop_root()): this is the state its futures still
    /// read, kept in the frame's block until the last reference goes.
    [[nodiscard]] auto frame_dropped() const noexcept -> bool {
        return (m_flags & (f_dropped | f_done)) == (f_dropped | f_done);
    }

    promise_base() noexcept = default;
    promise_base(const promise_base&) = default;
    auto operator=(const promise_base&) -> promise_base& = default;
    inline ~promise_base();

    static auto operator new(std::size_t n) -> void* { return allocate_frame(n); }
    static inline void operator delete(void* p, std::size_t n) noexcept;
};

static_assert(sizeof(void*) != 8 || sizeof(promise_base) == 80,
              "promise_base grew: every task frame pays for it");

/// Dropping a root (abort(), src/kernel/drop.cpp): while its frame is destroyed, the promise's
/// state is copied out as its destructor runs and the frame's block is kept, so that the futures
/// that point at the promise find it again, rebuilt in the same place.
struct drop_context {
    promise_base* m_promise; // the root being dropped
    promise_base* m_kept;    // where its state goes when its promise is destroyed
    void* m_block = nullptr; // its frame's block, kept
    std::size_t m_size = 0;
};
/// Set while a root's frame is destroyed by a drop (null otherwise: one test per frame freed).
inline thread_local drop_context* t_drop = nullptr;

// (drop_context's out-of-line parts: keep_dropped_state(), keep_dropped_block(),
// free_dropped_frame() in detail/kernel.hpp.)

inline promise_base::~promise_base() {
    if (t_drop != nullptr) [[unlikely]] {
        keep_dropped_state(this);
    }
}

inline void promise_base::operator delete(void* p, std::size_t n) noexcept {
    if (t_drop != nullptr && keep_dropped_block(p, n)) [[unlikely]] {
        return;
    }
    deallocate_frame(p, n);
}

/// The part of a loop's state that awaiters touch inline: its ready queue. loop_state (src/)
/// derives from it. A yield is a push here and a pop in the loop, with no call in between.
struct loop_core {
    promise_base* m_ready_head = nullptr;
    promise_base* m_ready_tail = nullptr;
    /// The task a FIFO loop's run_ready() is giving a turn to, while that turn runs (null
    /// outside it, and in a priority loop). A nested turn (an eager start, task_interrupt(),
    /// await_sync()) runs another task, so `t_current_task == m_turn` means "at the bottom of
    /// the loop's stack": what skip_ready_cycle() needs to know before it skips a turn.
    promise_base* m_turn = nullptr;
    /// Task runs since the last I/O poll, and the starvation guard's limit (UINT64_MAX when
    /// loop_options::io_poll_interval is 0).
    std::uint64_t m_runs_since_poll = 0;
    std::uint64_t m_poll_every = 0;
    /// Yields that found nothing else ready and went on without a turn (counted as runs).
    stat_counter<std::uint64_t> m_yields_in_place; // (statistics() reads it from any thread)

    /// True if the running task `t` may take its next turn at once, without suspending: it
    /// runs at the bottom of a FIFO loop's stack, nothing else is ready, and the starvation
    /// guard is not due. Counts that turn. A yield then costs a few compares instead of a
    /// queue round trip, and behaves the same: the loop would have picked `t` next, with no
    /// poll in between.
    auto take_turn_in_place(const promise_base* t) noexcept -> bool {
        if (m_ready_head != nullptr || m_turn != t || m_runs_since_poll + 1 >= m_poll_every) {
            return false;
        }
        ++m_runs_since_poll;
        ++m_yields_in_place;
        return true;
    }

    /// Appends a root task to the ready queue (no-op if it is queued already). A priority loop
    /// sorts what arrived here before it picks the next task (src/ready_queue.cpp), so this
    /// stays the same few instructions in both kinds of loop.
    void push_ready(promise_base* t) noexcept {
        if (t->has(promise_base::f_scheduled)) {
            return;
        }
        append_ready(t, t->m_flags);
    }
    /// push_ready() of a task known not to be queued, whose flags the caller read as `flags`
    /// (wake() has them in a register already: re-reading them after its counter store would
    /// cost a load and a test per wake).
    void append_ready(promise_base* t, std::uint16_t flags) noexcept {
        t->m_flags = static_cast<std::uint16_t>(flags | promise_base::f_scheduled);
        t->m_next = nullptr;
        if (m_ready_tail) {
            m_ready_tail->m_next = t;
        } else {
            m_ready_head = t;
        }
        m_ready_tail = t;
    }
};

/// The root task whose turn is running on this thread (set by the loop around each resume).
inline thread_local promise_base* t_current_task = nullptr;

/// The coroutine to resume next on this thread. Awaiting a task and ending one hand control over
/// through this slot and a trampoline in the loop, instead of returning the handle from
/// await_suspend: g++ 12 does not turn symmetric transfer into a tail call at -O0, and a chain
/// of a million synchronously completing tasks would overflow the stack. The trampoline costs
/// one return and one indirect call per transfer and keeps the stack flat at every -O level.
inline thread_local std::coroutine_handle<> t_transfer;

/// await_sync() (K3): how many synchronous runs this thread is inside, and where the last
/// awaitable that records its site was made (sleep(), the yields), to say where a run blocked.
inline thread_local int t_sync_depth = 0;
inline thread_local coven::source_location t_sync_site{};
inline thread_local bool t_sync_site_set = false;
/// Records `where` an awaitable was made, when inside await_sync(); one test otherwise.
inline void note_await_site(const coven::source_location& where) noexcept {
    if (t_sync_depth != 0) {
        t_sync_site = where;
        t_sync_site_set = true;
    }
}

/// Parks a root task in `w`: the loop will resume `h` when the task is woken.
inline void park(promise_base* task, waiter* w, std::coroutine_handle<> h) noexcept {
    task->m_resume = h;
    task->m_waiter = w;
    waiter_count_add(1);
}

// --- inline helpers of the kernel's edge (detail/kernel.hpp); loop thread only ---

/// The root task whose turn is running on this thread, or null outside any task.
inline auto current_task() noexcept -> promise_base* {
    return t_current_task;
}
/// current_task(), or a usage_error naming `what` when called outside a coven task.
inline auto require_current_task(const char* what) -> promise_base* {
    if (!t_current_task) {
        throw_outside_task(what);
    }
    return t_current_task;
}
/// Makes a parked root task runnable: clears its waiter and appends it to the ready queue.
/// Inline: every hand-off of a lock, a permit or an event goes through it.
inline void wake(promise_base* task) noexcept {
    const std::uint16_t flags = task->m_flags;
    if ((flags & promise_base::f_scheduled) != 0) {
        return;
    }
    if (task->m_waiter) {
        task->m_waiter = nullptr;
        waiter_count_add(-1);
    }
    task->m_loop->append_ready(task, flags);
}
// --- the cancellation layer's edge (src/cancel/cancel_scope.cpp) ---

/// The slow part of cancel_pending(): the task runs inside cancel scopes.
auto scope_cancel_pending(const promise_base* task) noexcept -> bool;
/// throw_cancelled()'s parts (src/cancel_scope.cpp). The first raises an exception thrown into
/// `task` unless a cancelled scope's cancellation comes first. The second returns the
/// cancelled_error to raise and consumes what raising it consumes; it copies a prototype, which
/// cannot throw.
void raise_interrupt_unless_a_scope_is_first(promise_base* task);
/// Raises the exception thrown into `task` (and forgets it); the loop calls it for a task that
/// ends before its first turn.
[[noreturn]] void raise_interrupt(promise_base* task);
auto cancellation_for(promise_base* task) noexcept -> coven::cancelled_error;
/// Throws what is pending for `task`: a cancelled scope's cancellation, else an exception thrown
/// into it (consumed), else its own cancel request (consumed). Awaiters call it from
/// await_resume.
/// The error is thrown right here, inlined into the awaiter, as a copy of a prototype that
/// cannot throw. The unwinder, which walks every frame twice (search, then cleanup), then has one
/// frame fewer to walk and no cleanup to stop at on the way: a cancellation costs about half of
/// what it did when a library function built and threw the error. What is inlined is a flag test
/// and calls, so that the awaiters' fast paths are laid out as before.
[[noreturn]] [[gnu::always_inline]] inline void throw_cancelled(promise_base* task) {
    if (task->has(promise_base::f_interrupt)) [[unlikely]] {
        raise_interrupt_unless_a_scope_is_first(task);
    }
    throw cancellation_for(task);
}

/// True if an await of `task` must raise: a cancelled scope it runs inside (with no shield in
/// between), or a cancel request or a thrown-in exception that no shield holds back.
inline auto cancel_pending(const promise_base* task) noexcept -> bool {
    constexpr auto either =
        promise_base::f_cancel_requested | promise_base::f_scoped | promise_base::f_interrupt;
    if ((task->m_flags & either) == 0) {
        return false; // the common case: one test
    }
    return task->has(promise_base::f_scoped) ? scope_cancel_pending(task) : true;
}

/// Makes `e` pending in root `task` (K26): its current or next await raises it instead of
/// waiting, and a parked task is woken for it. Replaces an exception thrown in earlier and not
/// raised yet. A waiter's on_cancel hook sees f_interrupt and leaves at once: an interrupt never
/// reaches the task being awaited. A shield holds it back, as it does cancellation. False if the
/// task had ended.
auto throw_into_root(promise_base* task, std::exception_ptr e) -> bool;
/// Takes back `e` if it is the exception pending in `task`; false if it was raised or replaced.
auto retract_interrupt(promise_base* task, const std::exception_ptr& e) noexcept -> bool;
/// True if an exception thrown into `task` waits to be raised.
inline auto interrupt_pending(const promise_base* task) noexcept -> bool {
    return task->has(promise_base::f_interrupt);
}
auto scope_interrupt_is_next(const promise_base* task) noexcept -> bool;
/// True if the next await of `task` raises an exception thrown in (not a cancelled scope's
/// cancellation, and no shield holds it back): a waiter woken for it leaves at once instead of
/// passing a cancel on to what it awaits.
inline auto interrupt_is_next(const promise_base* task) noexcept -> bool {
    if (!task->has(promise_base::f_interrupt)) {
        return false;
    }
    return !task->has(promise_base::f_scoped) || scope_interrupt_is_next(task);
}

} // namespace coven::detail
