#pragma once
// coven::thread_pool: worker threads for blocking calls (S14, R10), and the process's default
// pool. Tasks reach a pool through run_in_executor() and enter_executor() (executor.hpp).

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace coven {

namespace detail {

struct loop_core;

/// One unit of work for a pool. A job awaited by a task goes through these states; the
/// transitions out of `queued` and `running` race between a worker and the task's loop, so they
/// are compare-and-swaps (src/thread_pool.cpp).
struct pool_job {
    enum state : int {
        queued,     // in a pool's queue
        running,    // a worker runs it
        completing, // ran; the worker is posting the completion to the task's loop
        finished,   // ran; the completion is posted (or the loop was gone)
        cancelled,  // cancelled while queued: it never runs
        abandoned,  // cancelled while running: it runs to its end, nobody takes the result
    };
    pool_job() = default;
    pool_job(const pool_job&) = delete;
    auto operator=(const pool_job&) -> pool_job& = delete;
    virtual ~pool_job() = default;
    /// Runs the call and stores its value or exception. Must not throw.
    virtual void execute() noexcept = 0;

    std::atomic<int> m_state{queued};
    // Set before it is queued; read by the worker:
    loop_core* m_loop = nullptr; // the awaiting task's loop; null for a plain post()
    // The awaiting task's loop thread only:
    void* m_task = nullptr; // the parked task (promise_base*); null once it is not waiting
};

/// Prints an exception that escaped a post()ed job.
void report_posted_job_error(std::exception_ptr e) noexcept;

/// A post()ed function: fire and forget.
template <class F>
struct plain_job final : pool_job {
    explicit plain_job(F fn) : m_fn(std::move(fn)) {}
    void execute() noexcept override {
        try {
            m_fn();
        } catch (...) {
            report_posted_job_error(std::current_exception());
        }
    }
    F m_fn;
};

} // namespace detail

/// Options of a thread_pool; use designated initializers:
/// `coven::thread_pool pool({.threads = 4, .name = "db"});`
struct thread_pool_options {
    /// Worker threads; 0: std::thread::hardware_concurrency() (at least 2).
    std::size_t threads = 0;
    /// Threads are named `<name>-<n>` (the first 15 characters show in ps, top and gdb).
    std::string_view name = "coven-pool";
    /// At most this many jobs wait in the queue for post() and try_post(); 0: no bound. Jobs of
    /// run_in_executor() are always accepted: each belongs to a task that waits for it, and that
    /// waiting is its backpressure.
    std::size_t max_queued = 0;
};

/// A fixed set of worker threads taking jobs from one FIFO queue (S14).
///
/// **Cancellation:** a job awaited through run_in_executor() that is cancelled while queued never
/// runs. One that already runs cannot be stopped (no thread can be killed safely): its awaiter
/// raises cancelled_error at once, the call runs on to its end, and its result is dropped.
/// enter_executor() waits for a running block instead (coven/executor.hpp). A post()ed job has
/// no task and no cancellation: once queued, it runs (shutdown() runs it too).
/// **Throws:** usage_error when posting after shutdown(), or when post() would block a loop's
/// thread (or a worker) on a full queue; std::bad_alloc where a job is allocated.
/// **Thread safety:** every member, from any thread, except as noted: shutdown() and the
/// destructor not from one of the pool's own workers. Jobs run on the workers.
/// **Example:**
/// ```
/// coven::thread_pool pool({.threads = 4});
/// int n = co_await coven::run_in_executor(pool, count_lines, path);
/// ```
class thread_pool {
public:
    /// Starts the workers. **Throws:** std::system_error if a thread cannot be started (those
    /// already started are joined first); std::bad_alloc.
    explicit thread_pool(thread_pool_options options = {});
    /// shutdown(): blocks until the queued jobs have run and the workers are joined. Destroying
    /// a pool from one of its own workers (a job holding its last owner) cannot be done safely:
    /// it aborts with a message.
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    auto operator=(const thread_pool&) -> thread_pool& = delete;

    /// Runs `job()` on a worker, fire and forget (`job` may be move-only). An exception escaping
    /// it is printed to stderr. Blocks while a bounded queue is full.
    /// **Throws:** usage_error after shutdown() (also when shutdown() ends the wait for room), or
    /// on a loop's thread or a worker with the queue full; std::bad_alloc (`job` is destroyed).
    template <class F>
    void post(F job) {
        post_job(std::make_shared<detail::plain_job<F>>(std::move(job)));
    }
    /// post() that returns false instead of blocking when a bounded queue is full (`job` is then
    /// destroyed). Safe on a loop's thread.
    /// **Throws:** usage_error after shutdown(); std::bad_alloc.
    template <class F>
    auto try_post(F job) -> bool {
        return try_post_job(std::make_shared<detail::plain_job<F>>(std::move(job)));
    }

    /// Stops taking jobs, lets the workers finish what is queued (jobs cancelled meanwhile are
    /// skipped), and joins them. Idempotent. **Throws:** usage_error from one of its workers.
    void shutdown();

    /// Worker threads.
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_workers.size(); }
    /// Jobs waiting for a worker (cancelled ones included until a worker skips them).
    [[nodiscard]] auto queued() const -> std::size_t;
    /// True on one of this pool's workers.
    [[nodiscard]] auto is_worker_thread() const noexcept -> bool;

    /// Queues a job awaited by a task (run_in_executor()); never blocks.
    /// **Throws:** usage_error after shutdown().
    void submit(std::shared_ptr<detail::pool_job> job);

private:
    void post_job(std::shared_ptr<detail::pool_job> job);
    auto try_post_job(std::shared_ptr<detail::pool_job> job) -> bool;
    void work(std::size_t index);
    void push(std::shared_ptr<detail::pool_job> job); // m_mutex held

    std::string m_name;
    std::size_t m_max_queued;
    mutable std::mutex m_mutex;
    std::mutex m_join_mutex;
    std::condition_variable m_work_ready;
    std::condition_variable m_room;
    std::deque<std::shared_ptr<detail::pool_job>> m_queue;
    std::vector<std::thread> m_workers;
    bool m_closed = false;
};

/// The process's default pool (run_in_executor() and enter_executor() without a pool): made on
/// first use with max(hardware threads, 4) workers named `coven-exec-<n>`. Never destroyed, so
/// that what runs during static destruction can still use it; calls still running at exit are
/// not waited for.
/// **Thread safety:** any thread (made once, thread-safely).
/// **Throws:** on first use, what thread_pool's constructor throws.
auto default_thread_pool() -> thread_pool&;

} // namespace coven
