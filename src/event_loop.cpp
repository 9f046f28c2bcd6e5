// The loop's kernel: ready queue, run/poll cycle, root task bookkeeping, cancellation entry
// points, the cross-thread queue and shutdown.
//
// One iteration (run_once):
//   1. run ready tasks in FIFO order (a priority loop: most urgent first) until the queue is empty,
//   or until the starvation guard
//      (io_poll_interval runs) forces a poll;
//   2. poll epoll: without waiting if anything is still ready or waits for a poll, otherwise
//      until the next timer (virtual clock: jump to it instead) or a wake-up;
//   3. run what other threads posted;
//   4. wake the tasks parked in skip_poll_cycle();
//   5. fire the timers that are due.
// Hence S11: tasks that are ready always drain before I/O is polled.

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/sleep.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace coven {
namespace detail {
namespace {

thread_local loop_state* t_loop = nullptr;

struct closed_item final : remote_item {
    void run() override {}
};
closed_item g_closed;

// Names of named root tasks; only named tasks pay for this.
struct name_table {
    std::mutex mutex;
    std::unordered_map<const promise_base*, std::string> names;
};
auto names() -> name_table& {
    static name_table* t = new name_table; // outlives every frame, even those freed at exit
    return *t;
}

std::atomic<void (*)(std::exception_ptr, const std::string&)> g_unobserved{nullptr};

auto describe(std::exception_ptr e) -> std::string {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

void report_unobserved(promise_base* t) noexcept {
    report_unobserved_error(t->m_exception, root_name(t));
}

/// Moves every link of the circular list `from` (a sentinel) to the empty list `to`.
void splice_all(wait_link& from, wait_link& to) noexcept {
    to.m_next = from.m_next;
    to.m_prev = from.m_prev;
    to.m_next->m_prev = &to;
    to.m_prev->m_next = &to;
    from.m_next = from.m_prev = &from;
}

} // namespace

void count_foreign_wait(const promise_base* task, int delta) noexcept {
    state_of(task)->m_foreign_waits += delta;
}

auto owning_loop(const promise_base* task) noexcept -> event_loop* {
    return state_of(task)->m_self;
}

void report_unobserved_error(std::exception_ptr e, const std::string& name) noexcept {
    if (auto hook = g_unobserved.load()) {
        hook(std::move(e), name);
        return;
    }
    std::fprintf(stderr, "coven: exception in %s was never retrieved: %s\n", name.c_str(),
                 describe(e).c_str());
}

// ---------------------------------------------------------------- task entry points

void throw_outside_task(const char* what) {
    throw usage_error(std::string("coven: ") + what +
                      " awaited outside a coven task; run the coroutine with "
                      "coven::run(), event_loop::run() or create_task()");
}

void wait_for_poll(promise_base* t, wait_link* link) noexcept {
    wait_link& head = state_of(t)->m_after_poll;
    link->m_next = &head;
    link->m_prev = head.m_prev;
    head.m_prev->m_next = link;
    head.m_prev = link;
}

auto cancel_root(promise_base* t) noexcept -> bool {
    if (t->has(promise_base::f_done)) {
        return false;
    }
    if (!t->has(promise_base::f_cancel_requested)) {
        // A cancellation of its own, not one on top of a pending one: if the task ends by it,
        // that is its outcome, not an apply_timeout() cancellation it caught earlier and went
        // on from. (The timeout labels the task after calling this.)
        t->clear(promise_base::f_timed_out);
    }
    t->set(promise_base::f_cancel_requested);
    t->set(promise_base::f_cancel_sent);
    waiter* w = t->parked_waiter();
    if (w && cancel_pending(t)) { // a shielded scope holds the request back until it is left
        w->m_on_cancel(w, t);
    }
    return true;
}

namespace {
/// True if `t` waits at an await of its own body (not in a task it awaits): the frames a drop
/// destroys are then the root's alone. Library coroutines a task awaits (a scope, a timeout)
/// may need to run code to leave cleanly, so a task inside one is cancelled instead. The ABI of
/// g++ and clang puts the promise right after the frame's two function pointers; a layout that
/// differs only makes this false, and abort() then cancels.
auto parked_in_own_body(const promise_base* t) noexcept -> bool {
    const void* innermost = t->m_resume.address();
    return innermost != nullptr && static_cast<const char*>(innermost) + 2 * sizeof(void*) ==
                                       reinterpret_cast<const char*>(t);
}
} // namespace

auto abort_root(promise_base* t) noexcept -> bool {
    if (t->has(promise_base::f_done)) {
        return false;
    }
    if (t->parked_waiter() == nullptr || !parked_in_own_body(t)) {
        return cancel_root(t);
    }
    // The hook unlinks the waiter and wakes the task; a drop-safe one also accepts the drop.
    promise_base* const outer = std::exchange(t_drop_offer, t);
    cancel_root(t);
    t_drop_offer = outer;
    return true;
}

void keep_dropped_state(promise_base* p) noexcept {
    drop_context* d = t_drop;
    if (d->m_promise == p) {
        // The frame's locals are gone; its promise is being destroyed: its state as they left it.
        *d->m_kept = *p;
    }
}

auto keep_dropped_block(void* block, std::size_t size) noexcept -> bool {
    drop_context* d = t_drop;
    auto* first = static_cast<char*>(block);
    auto* promise = reinterpret_cast<char*>(d->m_promise);
    if (promise < first || promise >= first + size) {
        return false; // another frame freed while this one is destroyed
    }
    // g++ and clang put the promise two pointers into the block, so the block's first word, the
    // frame's dead resume pointer, is free for drop_root() to keep the block's size in.
    // (Another layout is freed here instead, and the drop reports it.)
    if (promise < first + sizeof(std::size_t)) {
        return false;
    }
    d->m_block = block;
    d->m_size = size;
    return true;
}

void free_dropped_frame(promise_base* p) noexcept {
    void* block = p->m_resume.address();
    const std::size_t size = *static_cast<std::size_t*>(block);
    p->~promise_base();
    deallocate_frame(block, size);
}

void add_completion(promise_base* t, completion_node* n) noexcept {
    if (completion_node* head = t->m_completions) {
        n->m_next = head;
        n->m_prev = head->m_prev;
        head->m_prev->m_next = n;
        head->m_prev = n;
    } else {
        n->m_next = n->m_prev = n;
        t->m_completions = n;
    }
}

void remove_completion(promise_base* t, completion_node* n) noexcept {
    if (n->m_next == n) {
        t->m_completions = nullptr;
    } else {
        n->m_prev->m_next = n->m_next;
        n->m_next->m_prev = n->m_prev;
        if (t->m_completions == n) {
            t->m_completions = n->m_next;
        }
    }
    n->m_next = n->m_prev = nullptr;
}

void root_finished(promise_base* t) noexcept {
    t->set(promise_base::f_done);
    t->clear(promise_base::f_cancel_requested);
    if (t->has(promise_base::f_interrupt)) {
        take_interrupt(t); // thrown in, never raised (it ended first): dropped
    }
    t->m_waiter = nullptr;
    if (!state_of(t)->m_inherit.empty()) {
        forget_inherit(t);
    }
    if (t->has(promise_base::f_has_locals)) {
        // Its values go with its end, not its frame: a context it ran in is free again, even
        // for its done-callbacks.
        drop_locals(t);
        t->clear(promise_base::f_has_locals);
    }
    while (completion_node* n = t->m_completions) {
        remove_completion(t, n);
        n->m_fire(n, t);
    }
    state_of(t)->unregister_root(t);
    release_root(t); // the loop's reference
}

void unjoin_if_alone(promise_base* target) noexcept {
    if (completion_node* head = target->m_completions) {
        completion_node* n = head;
        do {
            // Every node but the kernel's own bookkeeping is someone waiting for the outcome.
            if (!is_scope_child(n) && !is_group_node(n) && !is_root_timeout(n)) {
                return;
            }
            n = n->m_next;
        } while (n != head);
    }
    target->clear(promise_base::f_joined);
}

namespace {
/// release_root()'s rare part: an exception nobody retrieved, task-local values, a name.
[[gnu::noinline]] void release_extras(promise_base* t) noexcept {
    if (t->m_exception && !t->has(promise_base::f_observed) && !t->has(promise_base::f_cancelled)) {
        report_unobserved(t);
    }
    if (t->has(promise_base::f_has_locals)) {
        drop_locals(t);
    }
    if (t->has(promise_base::f_named)) {
        auto& n = names();
        std::lock_guard lock(n.mutex);
        n.names.erase(t);
    }
}
} // namespace

void release_root(promise_base* t) noexcept {
    if (--t->m_refs != 0) {
        return;
    }
    if (t->m_exception || t->has(promise_base::f_has_locals) || t->has(promise_base::f_named))
        [[unlikely]] {
        release_extras(t);
    }
    t->m_destroy(t);
}

void require_loop_thread(const promise_base* t, const char* what) {
    loop_state* loop = state_of(t);
    if (!loop) {
        throw usage_error(std::string("coven: ") + what +
                          " on a task that was never spawned; spawn it with create_task() "
                          "first");
    }
    require_driving(*loop, what);
}

void require_loop_core_thread(const loop_core* loop, const char* what) {
    require_driving(*static_cast<const loop_state*>(loop), what);
}

void require_driving(const loop_state& l, const char* what) {
    const loop_state* loop = &l;
    auto driver = loop->m_driver.load(std::memory_order_relaxed);
    auto me = std::this_thread::get_id();
    if (driver == me || (driver == std::thread::id{} && t_loop == nullptr &&
                         !loop->m_background.load(std::memory_order_relaxed))) {
        return;
    }
    throw usage_error(std::string("coven: ") + what +
                      " called from a thread that does not drive the task's loop; use "
                      "event_loop::call_soon_threadsafe() to run it there");
}

void report_callback_error(std::exception_ptr e) noexcept {
    if (t_loop && t_loop->m_exception_handler) {
        t_loop->m_exception_handler(e);
        return;
    }
    std::fprintf(stderr, "coven: exception in a done-callback: %s\n", describe(e).c_str());
}

auto root_name(const promise_base* t) -> std::string {
    if (t->has(promise_base::f_named)) {
        auto& n = names();
        std::lock_guard lock(n.mutex);
        auto it = n.names.find(t);
        if (it != n.names.end()) {
            return it->second;
        }
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "task@%p", static_cast<const void*>(t));
    return buf;
}

void set_root_name(promise_base* t, std::string name) {
    auto& n = names();
    std::lock_guard lock(n.mutex);
    n.names[t] = std::move(name);
    t->set(promise_base::f_named);
}

// ---------------------------------------------------------------- timers

/// The loop whose timers the running code uses: the one this thread drives, else (inside
/// await_sync(), which hides the loop) the running task's own.
auto timer_loop() noexcept -> loop_state* {
    if (t_loop != nullptr) {
        return t_loop;
    }
    return t_current_task != nullptr ? state_of(t_current_task) : nullptr;
}

auto loop_now(const char* what) -> event_loop::time_point {
    loop_state* loop = timer_loop();
    if (loop == nullptr) {
        throw usage_error(std::string("coven: ") + what + " used outside a loop thread");
    }
    return loop->m_self->now();
}

auto arm_timer(timer_node* node, event_loop::time_point deadline) -> loop_state* {
    return arm_timer_on(timer_loop(), node, deadline);
}

auto arm_timer_on(loop_state* loop, timer_node* node, event_loop::time_point deadline)
    -> loop_state* {
    // Rounded up to the tick: never early. A deadline the clock's range cannot reach (the
    // rounded tick would not fit the clock's nanoseconds) is "never": nothing is armed, and
    // only a cancel ends the wait (coven/duration.hpp).
    std::uint64_t tick = 0;
    if (deadline > loop->m_origin) { // (both sides of the subtraction are in range then)
        const std::int64_t ns = (deadline - loop->m_origin).count();
        tick = static_cast<std::uint64_t>(ns / 1000 + (ns % 1000 != 0 ? 1 : 0));
        if (tick > max_tick) {
            return loop;
        }
    }
    loop->m_wheel.arm(node, tick);
    count_add(g_live.timers, 1);
    return loop;
}

void disarm_timer(loop_core* loop, timer_node* node) noexcept {
    if (node->armed()) {
        static_cast<loop_state*>(loop)->m_wheel.disarm(node);
        count_add(g_live.timers, -1);
    }
}

// ---------------------------------------------------------------- cross-thread queue

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
        loop.m_poller.wake();
    }
    return true;
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

// ---------------------------------------------------------------- loop state

loop_state::loop_state(event_loop* self, loop_options options)
    : m_self(self), m_options(options),
      m_origin(options.clock == clock_kind::real ? event_loop::clock::now()
                                                 : event_loop::time_point{}),
      m_prioritized(options.scheduling == scheduling_policy::priority) {
    m_after_poll.m_next = m_after_poll.m_prev = &m_after_poll;
    m_wheel = timer_wheel(now_tick());
    m_poll_every = options.io_poll_interval != 0 ? options.io_poll_interval : UINT64_MAX;
}

auto loop_state::now_ns() const noexcept -> std::int64_t {
    if (m_options.clock == clock_kind::virtual_time) {
        return m_virtual_ns.load(std::memory_order_acquire);
    }
    return (event_loop::clock::now() - m_origin).count();
}

auto loop_state::now_tick() const noexcept -> std::uint64_t {
    auto ns = now_ns();
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / 1000);
}

namespace {
/// Ends a root at what would be its first turn, its body never run: it was cancelled (it ends
/// cancelled) or had an exception thrown in (it ends with that exception, as a coroutine does
/// that is thrown into before it starts).
[[gnu::cold]] void end_unstarted(promise_base* t) noexcept {
    // Its done-callbacks run now, as if in its turn.
    promise_base* const outer = std::exchange(t_current_task, t);
    if (t->has(promise_base::f_interrupt)) {
        try {
            raise_interrupt(t);
        } catch (...) {
            std::exception_ptr e = std::current_exception();
            if (is_cancellation(e)) {
                t->set(promise_base::f_cancelled);
            } else {
                t->m_exception = std::move(e);
            }
        }
    } else {
        t->take_cancel();
        t->set(promise_base::f_cancelled);
    }
    root_finished(t); // destroys the never-started frame if nobody holds it
    t_current_task = outer;
}

/// Ends a root by destroying its frame where it waits (its locals' destructors run, in this
/// task's context; no catch block and no code after the await runs): abort() at what would be
/// its turn, loop stop for a stuck task a future refers to. It ends cancelled. Its futures
/// point at its promise, so the promise's state is copied out while the promise is destroyed,
/// the frame's block is kept, and the state is rebuilt in its old place; the block is freed
/// with the last reference (free_dropped_frame()).
[[gnu::cold]] void drop_root(promise_base* t) noexcept {
    promise_base* const outer = std::exchange(t_current_task, t);
    loop_state* const loop = state_of(t);
    // Out of the registry while the frame goes, so that a destructor that spawns a task cannot
    // leave the copy's links stale.
    loop->unregister_root(t);
    promise_base kept;
    drop_context ctx{t, &kept};
    // A destructor run by this drop may drop another task (task_interrupt() on one whose drop
    // is pending runs its turn now): that drop has its own context, and this one comes back.
    drop_context* const outer_drop = std::exchange(t_drop, &ctx);
    t->m_destroy(t);
    t_drop = outer_drop;
    if (ctx.m_block == nullptr) {
        std::fputs("coven: a dropped task's frame was freed by another allocator path; its "
                   "state cannot be kept\n",
                   stderr);
        std::abort();
    }
    // The promise was destroyed and its storage is raw: a new promise_base is made in it.
    auto* state = ::new (static_cast<void*>(t)) promise_base(kept);
    *static_cast<std::size_t*>(ctx.m_block) = ctx.m_size;
    state->m_resume = std::coroutine_handle<>::from_address(ctx.m_block);
    state->set(promise_base::f_dropped); // (abort() set it already; loop stop did not)
    state->set(promise_base::f_cancelled);
    loop->register_root(state); // root_finished() takes it out again
    root_finished(state);       // frees the block if nobody holds the task
    t_current_task = outer;
}

/// Marks a root's first turn; false if it ended instead: it was cancelled or had an exception
/// thrown in before it ever ran (end_unstarted()).
inline auto first_turn(promise_base* t) noexcept -> bool {
    t->set(promise_base::f_started);
    constexpr auto ending = promise_base::f_cancel_requested | promise_base::f_interrupt;
    if ((t->m_flags & ending) == 0) {
        return true;
    }
    end_unstarted(t);
    return false;
}

/// Before a root's turn: true if it runs. A first turn may end it instead (first_turn()), and a
/// task that abort() dropped ends without running (drop_root()). One test in the common case.
inline auto begin_turn(promise_base* t) noexcept -> bool {
    constexpr auto special = promise_base::f_started | promise_base::f_dropped;
    if ((t->m_flags & special) == promise_base::f_started) [[likely]] {
        return true;
    }
    if (t->has(promise_base::f_dropped)) {
        drop_root(t);
        return false;
    }
    return first_turn(t);
}
} // namespace

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

void loop_state::run_ready() noexcept {
    // One test per batch, not per task: a FIFO loop pays nothing for priorities.
    if (m_prioritized) {
        run_ready_as<true>();
    } else {
        run_ready_as<false>();
    }
}

template <bool Prioritized>
void loop_state::run_ready_as() noexcept {
    std::uint64_t runs = 0;
    promise_base* const outer = t_current_task;
    promise_base* const outer_turn = m_turn; // (run_ready() is not re-entered today; be safe)
    for (;;) {
        promise_base* t = nullptr;
        if constexpr (Prioritized) {
            t = pick_prioritized();
            if (!t) {
                break;
            }
        } else {
            t = m_ready_head;
            if (!t) {
                break;
            }
            m_ready_head = t->m_next;
            if (!m_ready_head) {
                m_ready_tail = nullptr;
            }
        }
        t->clear(promise_base::f_scheduled);
        t->m_waiter = nullptr; // shares m_next's word: the task is running, parked nowhere
        ++runs;
        if constexpr (!Prioritized) {
            // A yield in this turn may skip its turn when nothing else is ready. Set before
            // first_turn(): m_turn never names a task that ended, only the one running now.
            m_turn = t;
        }
        if (!begin_turn(t)) {
            continue;
        }
        give_turn(t);
        if (++m_runs_since_poll >= m_poll_every) {
            break;
        }
    }
    m_turn = outer_turn;
    t_current_task = outer;
    m_runs += runs;
}

void loop_state::run_once(wait_mode mode, const promise_base* until) {
    run_ready();
    if (until && until->has(promise_base::f_done)) {
        return; // run_until_complete: its task just ended, do not block in a poll
    }
    const bool forced = has_ready();
    const bool poll_waiters = m_after_poll.m_next != &m_after_poll;
    int timeout = -1;
    if (forced || poll_waiters || mode == wait_mode::no_wait || has_posted()) {
        timeout = 0;
    } else if (auto next = m_wheel.next_expiration()) {
        if (m_options.clock == clock_kind::virtual_time) {
            if (m_options.autojump) {
                // Forward only, and never over an advance() another thread makes meanwhile.
                const std::int64_t target = tick_to_ns(*next);
                std::int64_t now = m_virtual_ns.load(std::memory_order_relaxed);
                while (now < target &&
                       !m_virtual_ns.compare_exchange_weak(now, target, std::memory_order_acq_rel,
                                                           std::memory_order_relaxed)) {
                }
                timeout = 0;
            }
        } else {
            auto diff = tick_to_ns(*next) - now_ns();
            if (diff <= 0) {
                timeout = 0;
            } else {
                auto ms = (diff + 999'999) / 1'000'000; // round up: never wake early
                timeout = ms > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                               : static_cast<int>(ms);
            }
        }
    } else if (mode == wait_mode::until_timer) {
        timeout = 0;
    }
    m_poller.wait(timeout);
    m_runs_since_poll = 0;
    ++m_polls;
    if (forced) {
        ++m_forced_polls;
    }
    // The tasks parked before this poll move to a list of their own before anything else runs:
    // a posted callback may cancel one (it unlinks itself, from whichever list holds it), and a
    // task that parks from a callback waits for the next poll. What is decided before code runs
    // is never trusted after it.
    wait_link polled;
    polled.m_next = polled.m_prev = &polled;
    if (poll_waiters) {
        splice_all(m_after_poll, polled);
    }
    drain_remote();
    while (polled.m_next != &polled) {
        poll_cycle_awaiter::wake_from_link(polled.m_next); // unlinks it; runs nothing
    }
    if (m_wheel.size() != 0) {
        auto fired = m_wheel.advance(now_tick());
        count_add(g_live.timers, -static_cast<std::int64_t>(fired));
    }
}

void loop_state::register_root(promise_base* t) noexcept {
    // Appended, so that stop() cancels tasks in the order they were created.
    t->m_reg_next = nullptr;
    t->m_reg_prev = m_registry_tail;
    (m_registry_tail ? m_registry_tail->m_reg_next : m_registry) = t;
    m_registry_tail = t;
    ++m_live;
}

void loop_state::unregister_root(promise_base* t) noexcept {
    (t->m_reg_prev ? t->m_reg_prev->m_reg_next : m_registry) = t->m_reg_next;
    (t->m_reg_next ? t->m_reg_next->m_reg_prev : m_registry_tail) = t->m_reg_prev;
    t->m_reg_prev = t->m_reg_next = nullptr;
    --m_live;
}

void loop_state::shutdown() {
    auto cancel_new = [this] {
        // Cancel each live task once; a task that catches it may await during its cleanup.
        for (promise_base* t = m_registry; t;) {
            promise_base* next = t->m_reg_next;
            if (!t->has(promise_base::f_shutdown_cancelled)) {
                t->set(promise_base::f_shutdown_cancelled);
                cancel_root(t);
            }
            t = next;
        }
    };
    int stuck_rounds = 0;
    for (;;) {
        cancel_new();
        while (m_live > 0) {
            // (Once the cross-thread queue is closed below, its marker is not work: a task that
            // a callback run there spawned and that ignores cancellation is stuck, not busy.)
            const bool work = has_ready() || m_after_poll.m_next != &m_after_poll ||
                              m_wheel.size() != 0 || has_posted() || m_foreign_waits > 0;
            if (!work) {
                break;
            }
            // Cleanup may sleep; a wait that another thread ends (a pool call a shield kept,
            // an enter_executor() block) is waited for: its completion wakes the poll.
            run_once(m_foreign_waits > 0 ? wait_mode::forever : wait_mode::until_timer);
            cancel_new();
        }
        if (m_live == 0) {
            remote_item* rest = m_remote.exchange(&g_closed, std::memory_order_acq_rel);
            if (rest == nullptr || rest == &g_closed) {
                break;
            }
            run_items(rest); // may spawn tasks: they are cancelled on the next round
            continue;
        }
        // Nothing can make progress: the remaining tasks wait on something no one will finish.
        if (++stuck_rounds < 2) {
            for (promise_base* t = m_registry; t; t = t->m_reg_next) {
                t->clear(promise_base::f_shutdown_cancelled);
            }
            continue;
        }
        for (promise_base* t = m_registry; t; t = t->m_reg_next) {
            // The kernel's bookkeeping on a stuck task goes, with the references a scope or a
            // group holds on it. Whoever waits for it (an awaiting task, a done-callback, a
            // thread) stays: a task a future refers to ends cancelled below, and they hear it.
            completion_node* n = t->m_completions;
            while (n != nullptr) {
                completion_node* const next = n->m_next == t->m_completions ? nullptr : n->m_next;
                if (is_root_timeout(n)) {
                    remove_completion(t, n);
                    root_timeout_end(n, t); // owned by the task: freed with it
                } else if (is_scope_child(n)) {
                    remove_completion(t, n);
                    scope_child_dropped(n, t); // drops the scope's reference
                } else if (is_group_node(n)) {
                    remove_completion(t, n);
                    group_node_dropped(n, t); // drops the group's reference
                }
                n = next;
            }
        }
        // The unreferenced ones first. Destroying them may hand a lock, a permit or a value to
        // a referenced one (a guard released by a destructor): that one then runs and takes it,
        // instead of being destroyed holding it.
        // (From the head each time: a destructor may change the registry.)
        bool destroyed = false;
        for (;;) {
            promise_base* t = m_registry;
            // (A task a destructor spawned is cancelled first, next round.)
            while (t != nullptr &&
                   (t->m_refs != 1 || !t->has(promise_base::f_shutdown_cancelled))) {
                t = t->m_reg_next;
            }
            if (t == nullptr) {
                break;
            }
            // What still waits for it holds no reference (a start() slot nobody awaits): it is
            // told the task is lost, or just let go.
            while (completion_node* n = t->m_completions) {
                remove_completion(t, n);
                if (n->m_dropped != nullptr) {
                    n->m_dropped(n, t);
                }
            }
            destroy_stuck(t);
            destroyed = true;
        }
        if (destroyed) {
            stuck_rounds = 0;
            continue;
        }
        // Then the ones a future still refers to: their frames go too, and their futures find
        // them ended cancelled. A destructor that hands something to another stuck task lets it
        // run first, to take it and end.
        for (;;) {
            promise_base* t = m_registry;
            // Skipped: one woken by a frame destroyed before it (it runs next round), one a
            // destructor spawned (it is cancelled first).
            while (t != nullptr && (t->has(promise_base::f_scheduled) ||
                                    !t->has(promise_base::f_shutdown_cancelled))) {
                t = t->m_reg_next;
            }
            if (t == nullptr) {
                break;
            }
            drop_referenced(t);
            if (has_ready()) {
                break;
            }
        }
        stuck_rounds = 0;
    }
    m_stop_requested.store(false, std::memory_order_relaxed);
}

void loop_state::leave_for_good(promise_base* t) noexcept {
    if (t->has(promise_base::f_scheduled)) {
        // Woken by a frame destroyed before it (a task_scope's waiter): it must not stay in the
        // ready queue once freed.
        unqueue(t);
    }
    if (t->parked_waiter() != nullptr) {
        t->m_waiter = nullptr; // its awaiter unlinks itself when the frame goes
        waiter_count_add(-1);
    }
}

void loop_state::destroy_stuck(promise_base* t) noexcept {
    unregister_root(t);
    leave_for_good(t);
    take_interrupt(t); // side-table state: goes either way
    forget_inherit(t);
    // Its frames' destructors run in its own context, as drop_root()'s do: a scoped_value that
    // puts an old value back writes the task's values, not those of whoever called stop().
    // Those values go after the frame.
    const bool locals = t->has(promise_base::f_has_locals);
    promise_base* const outer = std::exchange(t_current_task, t);
    t->m_destroy(t); // destroys its frames; their awaiters unlink themselves
    t_current_task = outer;
    if (locals) {
        drop_locals(t); // (the freed address is only a key there: nothing is read through it)
    }
}

void loop_state::drop_referenced(promise_base* t) noexcept {
    // Its frame goes now, while the loop lives and on the loop's thread (a destructor in it may
    // use the loop: a scope, a guard), in its own context (its task-local values, its
    // priority), as abort() drops a task; whoever waits for it is told it ended cancelled.
    leave_for_good(t);
    drop_root(t);
}

void spawn_root(loop_state& loop, promise_base* root, bool queue) {
    // Fast path: this thread drives the loop. Otherwise only an undriven loop may be fed.
    if (t_loop != &loop && (loop.m_driver.load(std::memory_order_relaxed) != std::thread::id{} ||
                            loop.m_background.load(std::memory_order_relaxed))) {
        root->m_destroy(root);
        throw usage_error("coven: create_task() called from a thread that does not drive the "
                          "loop; use event_loop::run() or call_soon_threadsafe()");
    }
    if (t_current_task != nullptr ? t_current_task->has(promise_base::f_has_locals)
                                  : has_thread_locals()) {
        try {
            inherit_locals(root);
        } catch (...) {
            root->m_destroy(root);
            throw;
        }
    }
    root->set(promise_base::f_root);
    root->m_loop = &loop;
    ++root->m_refs; // the loop's reference, dropped when the task ends
    loop.register_root(root);
    ++loop.m_spawned;
    if (queue) {
        loop.push_ready(root);
    }
}

namespace {
/// One per nesting depth of synchronous runs: a run that blocks is unwound by stopping its loop,
/// and that must not reach the runs around it, whose turns are on the stack.
thread_local std::vector<std::unique_ptr<event_loop>> t_sync_loops;
} // namespace

auto sync_loop() -> event_loop& {
    const auto depth = static_cast<std::size_t>(t_sync_depth);
    if (t_sync_loops.size() <= depth) {
        t_sync_loops.resize(depth + 1);
    }
    std::unique_ptr<event_loop>& loop = t_sync_loops[depth];
    // Virtual time: a blocked run that is unwound after a cancel it shields from does not wait
    // on a real clock.
    if (!loop) {
        loop = std::make_unique<event_loop>(loop_options{.clock = clock_kind::virtual_time});
    }
    return *loop;
}

void reset_sync_loop() noexcept {
    t_sync_loops.clear();
}

namespace {
/// The loop await_sync() hid from the code it runs (t_loop is null inside): the thread still
/// drives it, so blocking bridges must still refuse to block.
thread_local int t_hidden_loops = 0;
} // namespace

auto drives_a_loop() noexcept -> bool {
    return t_loop != nullptr || t_hidden_loops != 0;
}

void refuse_blocking(const char* what, const char* instead) {
    if (drives_a_loop()) {
        throw usage_error(std::string("coven: ") + what +
                          " on a loop's thread would stall that loop (or deadlock it, if the "
                          "loop must run what is waited for); " +
                          instead);
    }
}

void refuse_cross_loop_wait_in_sync_run(const promise_base* waiter, const promise_base* target,
                                        const char* what) {
    if (t_sync_depth != 0 && waiter->m_loop != target->m_loop) {
        throw usage_error(std::string("coven: ") + what +
                          " inside await_sync() waits on a loop, and a synchronous run has "
                          "none; await it in a task instead");
    }
}

auto run_sync_turn(promise_base* root) noexcept -> bool {
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    loop_state* const outer = std::exchange(t_loop, nullptr); // no loop in sight
    if (outer != nullptr) {
        ++t_hidden_loops;
    }
    // A nested run must not leave its site to the run around it.
    const coven::source_location saved_site = t_sync_site;
    const bool saved_site_set = t_sync_site_set;
    ++t_sync_depth;
    t_sync_site_set = false;
    root->set(promise_base::f_started);
    give_turn(root);
    --t_sync_depth;
    const bool done = root->has(promise_base::f_done);
    if (done) { // a run that blocked keeps its site for the caller's error; restored later
        t_sync_site = saved_site;
        t_sync_site_set = saved_site_set;
    }
    if (outer != nullptr) {
        --t_hidden_loops;
    }
    t_loop = outer;
    t_current_task = caller;
    t_transfer = pending;
    return done;
}

void abandon_sync_run(promise_base* root) noexcept {
    loop_state& loop = *state_of(root);
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    try {
        // What loop stop does: cancel, let it unwind (its timers run on the virtual clock, a
        // call on a pool is waited for), and destroy a task that ignores cancellation.
        drive_guard guard(loop); // sync_loop() is this thread's own: nobody else drives it
        // At the run's depth: an await_sync() in its cleanup gets a loop of its own, as it
        // would have in the run's turn.
        struct one_deeper {
            one_deeper() noexcept { ++t_sync_depth; }
            ~one_deeper() { --t_sync_depth; }
            one_deeper(const one_deeper&) = delete;
            auto operator=(const one_deeper&) -> one_deeper& = delete;
        } depth;
        loop.shutdown();
    } catch (...) {
        // drive_guard cannot fail here; if it did, the frame is left to the loop's teardown.
    }
    t_sync_site_set = false;
    t_current_task = caller;
    t_transfer = pending;
}

void queue_root(promise_base* root) noexcept {
    state_of(root)->push_ready(root);
}

namespace {
// Each nested turn (an eager start, a task run at once) nests on the C stack; past this depth (a
// chain of children that each start the next eagerly) the turn is queued instead, keeping the
// stack bounded.
constexpr int max_nested_turns = 64;
thread_local int t_nested_turns = 0;

/// The turn run_ready() would give `root`, nested in the caller's: the caller is running, not
/// parked, and resumes when this returns.
void nested_turn(loop_state* loop, promise_base* root) noexcept {
    ++t_nested_turns;
    ++loop->m_runs;
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    give_turn(root);
    t_current_task = caller;
    t_transfer = pending;
    --t_nested_turns;
}
} // namespace

void start_now(promise_base* root) noexcept {
    loop_state* loop = state_of(root);
    if (t_loop != loop ||
        (root->m_flags & (promise_base::f_cancel_requested | promise_base::f_interrupt)) != 0 ||
        t_nested_turns >= max_nested_turns) {
        loop->push_ready(root); // run_ready() gives it its turn (or ends it, if cancelled)
        return;
    }
    root->set(promise_base::f_started);
    nested_turn(loop, root);
}

auto run_root_now(promise_base* root) noexcept -> bool {
    loop_state* loop = state_of(root);
    if (t_loop != loop || !root->has(promise_base::f_scheduled) || root == t_current_task ||
        t_nested_turns >= max_nested_turns) {
        return false;
    }
    loop->unqueue(root);
    root->m_waiter = nullptr; // shares m_next's word: running, parked nowhere
    if (!begin_turn(root)) {
        return true; // it ended without running
    }
    nested_turn(loop, root);
    return true;
}

void drive_until_done(loop_state& loop, promise_base* root) {
    while (!root->has(promise_base::f_done)) {
        if (loop.m_stop_requested.load(std::memory_order_relaxed)) {
            loop.shutdown();
            break;
        }
        loop.run_once(wait_mode::forever, root);
    }
}

drive_guard::drive_guard(loop_state& loop) : m_loop(loop), m_previous(t_loop) {
    auto me = std::this_thread::get_id();
    if (loop.m_driver.load() == me) {
        throw usage_error("coven: run_until_complete() called from the loop's own thread; "
                          "co_await the task instead");
    }
    if (loop.m_background.load()) {
        throw usage_error("coven: run_until_complete() on a loop driven by its own thread; use "
                          "event_loop::run(), which blocks until the task ends");
    }
    std::thread::id none{};
    if (!loop.m_driver.compare_exchange_strong(none, me)) {
        throw usage_error("coven: run_until_complete() while another thread drives the loop");
    }
    loop.reopen_remote();
    t_loop = &loop;
}

drive_guard::drive_guard(loop_state& loop, adopt_t /*tag*/) noexcept
    : m_loop(loop), m_previous(t_loop) {
    loop.reopen_remote();
    t_loop = &loop;
}

drive_guard::~drive_guard() {
    // A stop request is acted on by whoever drives the loop. One that came while this thread
    // drove it but after the run's last look (its task ended in the same turn) is acted on now,
    // before letting go; one that lands while letting go is taken back, unless stop() itself or
    // a new run has taken the loop, and then that one acts on it. (stop() raises the request
    // before it looks for a driver, and this looks for a request after letting go: one of the
    // two always sees the other.)
    const auto me = std::this_thread::get_id();
    for (;;) {
        if (m_loop.m_stop_requested.load()) {
            try {
                m_loop.shutdown(); // clears the request
            } catch (...) {
                m_loop.m_stop_requested.store(false);
                report_callback_error(std::current_exception());
            }
        }
        m_loop.m_driver.store(std::thread::id{});
        if (!m_loop.m_stop_requested.load()) {
            break;
        }
        std::thread::id none{};
        if (!m_loop.m_driver.compare_exchange_strong(none, me)) {
            break;
        }
    }
    t_loop = m_previous;
}

} // namespace detail

// ---------------------------------------------------------------- event_loop

event_loop::event_loop(loop_options options)
    : m_state(std::make_unique<detail::loop_state>(this, options)) {
    detail::count_add(detail::g_live.loops, 1);
}

event_loop::~event_loop() {
    try {
        stop();
    } catch (...) {
        std::fprintf(stderr, "coven: event_loop destroyed while another thread drives it\n");
        std::abort();
    }
    if (m_state->m_thread.joinable()) {
        m_state->m_thread.join();
    }
    detail::count_add(detail::g_live.loops, -1);
}

void event_loop::start() {
    auto& s = *m_state;
    std::lock_guard lock(s.m_lifecycle);
    if (s.m_background.load()) {
        return;
    }
    if (s.m_thread.joinable()) {
        s.m_thread.join(); // a previous thread that stopped itself
    }
    if (s.m_driver.load() != std::thread::id{}) {
        detail::throw_usage("start() on a loop that another thread drives");
    }
    s.reopen_remote();
    s.m_stop_requested.store(false);
    s.m_background.store(true, std::memory_order_release);
    s.m_thread = std::thread([&s] {
        s.m_driver.store(std::this_thread::get_id());
        detail::t_loop = &s;
        while (!s.m_stop_requested.load(std::memory_order_relaxed)) {
            s.run_once(detail::wait_mode::forever);
        }
        s.shutdown();
        detail::t_loop = nullptr;
        s.m_driver.store(std::thread::id{});
        s.m_background.store(false, std::memory_order_release);
    });
}

void event_loop::stop() {
    auto& s = *m_state;
    if (in_loop_thread()) {
        s.m_stop_requested.store(true);
        s.m_poller.wake();
        return;
    }
    std::lock_guard lock(s.m_lifecycle);
    if (s.m_thread.joinable()) {
        s.m_stop_requested.store(true);
        s.m_poller.wake();
        s.m_thread.join();
        s.m_stop_requested.store(false);
        return;
    }
    // A run_until_complete() on another thread, or nobody. The request is raised first; then
    // whoever drives the loop acts on it: that run (at its next iteration, or as it ends), or
    // this call if it can take the loop (see ~drive_guard()).
    s.m_stop_requested.store(true);
    s.m_poller.wake();
    std::thread::id none{};
    if (!s.m_driver.compare_exchange_strong(none, std::this_thread::get_id())) {
        return;
    }
    detail::drive_guard guard(s, detail::drive_guard::adopt_t{});
    s.shutdown();
}

auto event_loop::is_running() const noexcept -> bool {
    return m_state->m_driver.load() != std::thread::id{} || m_state->m_background.load();
}

auto event_loop::in_loop_thread() const noexcept -> bool {
    return m_state->m_driver.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

auto event_loop::now() const noexcept -> time_point {
    return m_state->m_origin + duration(m_state->now_ns());
}

auto event_loop::time() const noexcept -> double {
    return std::chrono::duration<double>(now().time_since_epoch()).count();
}

void event_loop::advance_by(duration d) {
    auto& s = *m_state;
    if (s.m_options.clock != clock_kind::virtual_time) {
        detail::throw_usage("advance() on a loop with a real clock; construct it with "
                            "loop_options{.clock = clock_kind::virtual_time}");
    }
    // Saturating at the end of the clock's range; a compare-and-swap, as autojump's is, so that
    // neither overwrites the other.
    std::int64_t now = s.m_virtual_ns.load(std::memory_order_relaxed);
    std::int64_t next = 0;
    do {
        next = d.count() >= std::numeric_limits<std::int64_t>::max() - now
                   ? std::numeric_limits<std::int64_t>::max()
                   : now + d.count();
    } while (!s.m_virtual_ns.compare_exchange_weak(now, next, std::memory_order_acq_rel,
                                                   std::memory_order_relaxed));
    s.m_poller.wake();
}

auto event_loop::statistics() const -> loop_statistics {
    auto& s = *m_state;
    loop_statistics st;
    st.tasks_spawned = s.m_spawned;
    st.live_tasks = s.m_live;
    st.task_runs = s.m_runs + s.m_yields_in_place;
    st.yields_in_place = s.m_yields_in_place;
    st.polls = s.m_polls;
    st.forced_polls = s.m_forced_polls;
    st.timers = s.m_wheel.size();
    st.boosted = s.m_boosted;
    return st;
}

auto event_loop::options() const noexcept -> const loop_options& {
    return m_state->m_options;
}

void event_loop::set_exception_handler(std::function<void(std::exception_ptr)> handler) {
    m_state->m_exception_handler = std::move(handler);
}

void event_loop::check_not_loop_thread(const char* what) const {
    if (in_loop_thread()) {
        throw usage_error(std::string("coven: ") + what +
                          " called from the loop's own thread, which would deadlock; co_await "
                          "the task instead");
    }
}

auto current_loop() noexcept -> event_loop* {
    return detail::t_loop ? detail::t_loop->m_self : nullptr;
}

void set_unobserved_exception_handler(void (*handler)(std::exception_ptr, const std::string&)) {
    detail::g_unobserved.store(handler);
}

} // namespace coven
