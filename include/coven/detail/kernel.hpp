#pragma once
// The kernel's edge: every out-of-line entry point of the loop's kernel (src/kernel/), grouped.
// Facades (src/cancel, src/scope, src/threads and the public headers) reach the kernel through
// this header only; the loop's state (src/kernel/loop_state.hpp) is private to the kernel.
//
// Who may call what, from which thread:
//  - "loop thread": the thread that drives the task's (or the given) loop, or, while nobody
//    drives it and it has no background thread, the thread that owns it. Checks that raise
//    usage_error for other threads are at the public entry points (require_loop_thread());
//    the functions here assume it.
//  - "any thread": safe from any thread at any time.
// Inline helpers that need the promise's layout (wake(), park(), cancel_pending()) live in
// promise_base.hpp; they call into what is declared here.

#include <coven/duration.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

namespace coven {
class event_loop;
class any_future;
} // namespace coven

namespace coven::detail {

struct promise_base;
struct completion_node;
struct loop_core;
struct loop_state;
struct timer_node;

// --- the loop ------------------------------------------------------------------------------

/// The kernel state of `loop`, and its inline part (any thread: the address only).
auto loop_state_of(event_loop& loop) noexcept -> loop_state&;
auto loop_core_of(event_loop& loop) noexcept -> loop_core*;
/// The event_loop that runs a root task (any thread).
auto owning_loop(const promise_base* task) noexcept -> event_loop*;

// --- root tasks (loop thread) ----------------------------------------------------------------

/// Registers a new root task on `loop` and queues its first turn, or (`queue` false) leaves it
/// for start_now() or queue_root(). Throws usage_error from a thread that may not feed the loop;
/// the root is destroyed then.
void spawn_root(loop_state& loop, promise_base* root, bool queue = true);
/// Gives a root spawned with `queue` false its first turn at once, on the calling thread, up to
/// its first suspension (eager start, K1/K25); the calling task resumes after that. Off the
/// loop's thread the turn is queued instead.
void start_now(promise_base* root) noexcept;
/// Queues the first turn of a root spawned with `queue` false.
void queue_root(promise_base* root) noexcept;
/// Gives a queued root its turn now, nested in the caller's (K27), as start_now() does for a new
/// task; false (it stays queued) if it is not queued, is the caller, belongs to a loop this
/// thread is not driving, or the nesting is too deep.
auto run_root_now(promise_base* task) noexcept -> bool;
/// Requests cancellation of a root task; false if it had already ended.
auto cancel_root(promise_base* task) noexcept -> bool;
/// Ends a root task without resuming it where it can (future::abort()): a root parked at a
/// drop-safe await of its own body is dropped at its next turn; any other is cancelled. False if
/// it had already ended.
auto abort_root(promise_base* task) noexcept -> bool;
/// Called from a root's final suspend: records the end, fires completions, drops the loop's
/// reference (which may destroy the frame).
void root_finished(promise_base* task) noexcept;
/// Drops one reference held by a future handle (the frame goes with the last one).
void release_root(promise_base* task) noexcept;
/// Links a completion node at the tail of a root's list.
void add_completion(promise_base* task, completion_node* node) noexcept;
/// Unlinks a completion node that is still linked.
void remove_completion(promise_base* task, completion_node* node) noexcept;
/// After a waiter that joined `target` (awaited it) left without its outcome: `target` counts
/// as joined only while someone else still waits for it or has a done-callback on it.
void unjoin_if_alone(promise_base* target) noexcept;
/// Counts a wait of `task` that another thread will end (a pool call, a task of another loop):
/// loop stop waits for such waits instead of giving up on the task. +1 when it parks, -1 once
/// it stops waiting (woken, or detached).
void count_foreign_wait(const promise_base* task, int delta) noexcept;
/// A task parked until the loop's next I/O poll (skip_poll_cycle(), S11): a link of the loop's
/// circular list (or of the list the loop moved it to while it wakes them), and the task. The
/// loop unlinks it and wakes the task; a cancel hook unlinks it from whichever list holds it.
struct poll_link {
    poll_link* m_prev = nullptr;
    poll_link* m_next = nullptr;
    promise_base* m_task = nullptr;
    [[nodiscard]] auto linked() const noexcept -> bool { return m_next != nullptr; }
    void unlink() noexcept {
        m_prev->m_next = m_next;
        m_next->m_prev = m_prev;
        m_prev = m_next = nullptr;
    }
};
/// Links `link` (its m_task set) into the loop's list of tasks that wait for the next I/O poll.
void wait_for_poll(promise_base* task, poll_link* link) noexcept;

// --- names and reports (any thread) ----------------------------------------------------------

/// The task's name, or "task@<address>".
auto root_name(const promise_base* task) -> std::string;
void set_root_name(promise_base* task, std::string name);
/// Reports an exception that a task ended with and nobody retrieved.
void report_unobserved_error(std::exception_ptr e, const std::string& name) noexcept;
/// Hands an exception thrown by a done-callback to the loop's exception handler.
void report_callback_error(std::exception_ptr e) noexcept;

// --- dropping a frame (abort(), loop stop; src/kernel/drop.cpp) --------------------------------

/// The promise and operator delete call these while a dropped root's frame is destroyed.
void keep_dropped_state(promise_base* p) noexcept;
auto keep_dropped_block(void* block, std::size_t size) noexcept -> bool;
/// Frees the block of a dropped root once its last reference is gone (frame_dropped()).
void free_dropped_frame(promise_base* p) noexcept;

// --- exceptions thrown into tasks (K26-K28; loop thread) ---------------------------------------

/// The loop's side table: `e` waits to be raised in `task` (a later one replaces it).
void store_interrupt(promise_base* task, std::exception_ptr e);
/// Takes back the exception thrown into `task` and not raised yet (null if none).
auto take_interrupt(promise_base* task) noexcept -> std::exception_ptr;
/// True if `e` is the exception that waits in `task`.
auto interrupt_stored_is(const promise_base* task, const std::exception_ptr& e) noexcept -> bool;
/// How many thrown-in exceptions the task's loop has raised (task_interrupt() compares).
void count_raised_interrupt(const promise_base* task) noexcept;
auto raised_interrupts(const promise_base* task) noexcept -> std::uint64_t;
/// How many exceptions wait in the loop's side table (testing::inspect).
auto pending_interrupts(const loop_core* loop) noexcept -> std::size_t;

// --- time (loop thread) ------------------------------------------------------------------------

/// The clock of `loop` (any thread).
auto loop_time(const loop_core* loop) noexcept -> loop_time_point;
/// The clock of the loop the running code uses; usage_error naming `what` off a loop thread.
auto loop_now(const char* what) -> loop_time_point;
/// Arms `node` for `deadline` on the current loop, or on `loop`. A deadline the clock cannot
/// reach (time_point::max()) arms nothing: see coven/duration.hpp.
void arm_timer(timer_node* node, loop_time_point deadline);
void arm_timer_on(loop_core* loop, timer_node* node, loop_time_point deadline);
/// Disarms `node` if it is armed.
void disarm_timer(loop_core* loop, timer_node* node) noexcept;

// --- I/O (loop thread; src/io/backend.hpp is the engine behind these) --------------------------

struct io_op;
enum class io_cancel_result : std::uint8_t;
/// Starts `op` on the loop's I/O engine; its m_complete runs on the loop's thread when it
/// completes. **Throws:** what the engine throws (usage_error, error); `op` is untouched then.
void start_io(loop_core* loop, io_op& op);
/// Gives up a started operation: unlinked (it will not complete) or stays_parked (it completes
/// later, with m_cancelled set; keep it alive until then).
auto cancel_io(loop_core* loop, io_op& op) noexcept -> io_cancel_result;
/// Registers `fd` with the loop's engine for as long as a coven object owns it (io_backend::
/// attach): operations on it then start and end without system calls. **Throws:** error,
/// usage_error (attached already).
void attach_fd(loop_core* loop, int fd);
/// Unregisters an attached fd, before it is closed and with no operation on it.
void detach_fd(loop_core* loop, int fd) noexcept;
/// The readiness_bits the engine remembers for an attached fd.
auto fd_readiness(const loop_core* loop, int fd) noexcept -> std::uint8_t;
/// The owner of an attached fd found it not ready for `bits`.
void clear_fd_readiness(loop_core* loop, int fd, std::uint8_t bits) noexcept;
/// Operations started on the loop's engine and not completed or given up (testing::inspect).
auto pending_io(const loop_core* loop) noexcept -> std::size_t;
/// The name of the loop's engine ("epoll").
auto io_engine_name(const loop_core* loop) noexcept -> const char*;
/// Why the loop's engine stands in for io_uring; empty if it does not.
auto io_fallback_reason(const loop_core* loop) -> std::string;
/// Test seam: every io_uring_setup() fails with `err` from now on (0: they run again).
void fail_io_uring_setup(int err) noexcept;

// --- other threads -----------------------------------------------------------------------------

/// A unit of work posted to a loop from any thread (the MPSC queue of ARCHITECTURE §1).
struct remote_item {
    remote_item* m_next = nullptr;
    virtual void run() = 0;
    virtual ~remote_item() = default;
    remote_item() = default;
    remote_item(const remote_item&) = delete;
    auto operator=(const remote_item&) -> remote_item& = delete;
};
template <class F>
struct remote_fn final : remote_item {
    explicit remote_fn(F&& f) : m_fn(std::move(f)) {}
    void run() override { m_fn(); }
    F m_fn;
};
/// Pushes an item (any thread); false (and the item is left to the caller) when the loop has
/// stopped.
auto post(loop_state& loop, remote_item* item) noexcept -> bool;
auto post(loop_core* loop, remote_item* item) noexcept -> bool;
/// The usage_error for a post() that failed, naming `what`, the call the user made.
[[noreturn]] void throw_closed_to_threads(const char* what);
/// True while the loop has a background thread of its own (any thread).
auto has_background_thread(const loop_state& loop) noexcept -> bool;
/// True if the calling thread drives a loop, including one that await_sync() hides.
auto drives_a_loop() noexcept -> bool;
/// Throws usage_error if the calling thread drives a loop (drives_a_loop()): a blocking `what`
/// would stall it. `instead` names the non-blocking spelling.
void refuse_blocking(const char* what, const char* instead);

// --- driving a loop on the calling thread ------------------------------------------------------

/// Runs the loop on this thread until `root` ends (or a stop request ends the run).
void drive_until_done(loop_state& loop, promise_base* root);
/// Scope in which the calling thread drives a loop (run_until_complete). A stop request that
/// is still pending when it ends is acted on before the loop is let go.
class drive_guard {
public:
    /// The calling thread has made itself the loop's driver already.
    struct adopt_t {};
    explicit drive_guard(loop_state& loop);
    drive_guard(loop_state& loop, adopt_t tag) noexcept;
    ~drive_guard();
    drive_guard(const drive_guard&) = delete;
    auto operator=(const drive_guard&) -> drive_guard& = delete;

private:
    loop_state& m_loop;
    loop_state* m_previous;
};

// --- synchronous runs (await_sync(), K3; src/kernel/sync_run.cpp) ------------------------------

/// await_sync()'s loop: one per nesting depth and thread, on the virtual clock, never driven
/// except to unwind a run that blocked.
auto sync_loop() -> event_loop&;
/// Destroys this thread's sync loops (testing::reset_default_loop()).
void reset_sync_loop() noexcept;
/// Runs a root task of sync_loop() on this thread, outside any loop, until it ends or first
/// suspends; true if it ended.
auto run_sync_turn(promise_base* root) noexcept -> bool;
/// Cancels a root task of sync_loop() that suspended, and lets it unwind.
void abandon_sync_run(promise_base* root) noexcept;
/// Inside await_sync(): waiting on a task of another loop would wait on a loop the synchronous
/// run cannot drive; throws usage_error naming `what`.
void refuse_cross_loop_wait_in_sync_run(const promise_base* waiter, const promise_base* target,
                                        const char* what);

// --- the ready queue (K17; src/kernel/scheduling.cpp; loop thread) -----------------------------

auto ready_len(loop_state& loop) -> std::size_t;
void check_queue_thread(loop_state& loop, const char* what);
auto find_ready(loop_state& loop, bool (*key)(void* ctx, const any_future& task), void* ctx,
                bool remove) -> any_future;
void insert_ready(loop_state& loop, std::size_t pos, const any_future& task, const char* what);

// --- checks ------------------------------------------------------------------------------------

/// Throws usage_error: `what` was awaited outside a coven task.
[[noreturn]] void throw_outside_task(const char* what);
/// Throws usage_error unless the calling thread may act on the task's loop (see the top).
void require_loop_thread(const promise_base* task, const char* what);
void require_loop_core_thread(const loop_core* loop, const char* what);

} // namespace coven::detail
