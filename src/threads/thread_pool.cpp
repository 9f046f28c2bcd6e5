#include <coven/detail/kernel.hpp>

#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/executor.hpp>
#include <coven/thread_pool.hpp>

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace coven {

namespace detail {
namespace {

thread_local const thread_pool* t_worker_of = nullptr;

/// Wakes the awaiting task on its loop's thread once the worker is done with the loop.
struct completion_item final : remote_item {
    explicit completion_item(std::shared_ptr<pool_job> job) : m_job(std::move(job)) {}
    void run() override {
        wait_until_posted(*m_job);
        if (auto* task = static_cast<promise_base*>(m_job->m_task)) {
            m_job->m_task = nullptr;
            count_foreign_wait(task, -1);
            wake(task);
        }
    }
    std::shared_ptr<pool_job> m_job;
};

} // namespace

void report_posted_job_error(std::exception_ptr e) noexcept {
    try {
        std::rethrow_exception(std::move(e));
    } catch (const std::exception& x) {
        std::fprintf(stderr, "coven: a thread_pool job threw: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "coven: a thread_pool job threw a non-std exception\n");
    }
}

void wait_until_posted(const pool_job& job) noexcept {
    // The worker is between pushing the completion and leaving post(), which still touches the
    // loop: wait for it, so that the loop cannot be torn down under it. A few instructions.
    while (job.m_state.load(std::memory_order_acquire) == pool_job::completing) {
        std::this_thread::yield();
    }
}

auto detach_job(pool_job& job) noexcept -> bool {
    job.m_task = nullptr;
    int s = pool_job::queued;
    if (job.m_state.compare_exchange_strong(s, pool_job::cancelled, std::memory_order_acq_rel)) {
        return false; // it will never run
    }
    if (s == pool_job::running &&
        job.m_state.compare_exchange_strong(s, pool_job::abandoned, std::memory_order_acq_rel)) {
        return false; // it runs on; its result is dropped
    }
    wait_until_posted(job);
    return job.m_state.load(std::memory_order_acquire) == pool_job::finished;
}

void run_job(pool_job& job, const std::shared_ptr<pool_job>& owner) noexcept {
    int s = pool_job::queued;
    if (!job.m_state.compare_exchange_strong(s, pool_job::running, std::memory_order_acq_rel)) {
        return; // cancelled while queued
    }
    job.execute();
    if (job.m_loop == nullptr) {
        job.m_state.store(pool_job::finished, std::memory_order_release);
        return;
    }
    s = pool_job::running;
    if (!job.m_state.compare_exchange_strong(s, pool_job::completing, std::memory_order_acq_rel)) {
        return; // abandoned: nobody waits
    }
    auto* item = new (std::nothrow) completion_item(owner);
    if (item != nullptr && !post(job.m_loop, item)) {
        delete item; // the loop is stopping: its shutdown cancels the task, which then takes the
                     // result itself (detach_job() finds the job finished)
    }
    // Out of memory: same as a stopping loop, except that nothing will cancel the task. Rare
    // enough to accept; it waits until its loop stops.
    job.m_state.store(pool_job::finished, std::memory_order_release);
}

auto cancel_if_queued(pool_job& job) noexcept -> bool {
    int s = pool_job::queued;
    if (!job.m_state.compare_exchange_strong(s, pool_job::cancelled, std::memory_order_acq_rel)) {
        return false;
    }
    job.m_task = nullptr;
    return true;
}

} // namespace detail

namespace {

auto worker_count(std::size_t wanted) -> std::size_t {
    if (wanted != 0) {
        return wanted;
    }
    return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

} // namespace

thread_pool::thread_pool(thread_pool_options options)
    : m_name(options.name), m_max_queued(options.max_queued) {
    const std::size_t n = worker_count(options.threads);
    m_workers.reserve(n);
    try {
        for (std::size_t i = 0; i < n; ++i) {
            m_workers.emplace_back([this, i] { work(i); });
        }
    } catch (...) {
        shutdown();
        throw;
    }
}

thread_pool::~thread_pool() {
    if (is_worker_thread()) {
        // A job dropped the last owner of its own pool: the worker would join itself and then
        // run on in a destroyed pool. There is no way to go on safely; say so and stop.
        std::fprintf(stderr, "coven: a thread_pool was destroyed by one of its own workers (a "
                             "job held its last owner); destroy pools from other threads\n");
        std::abort();
    }
    shutdown();
}

void thread_pool::work(std::size_t index) {
    detail::t_worker_of = this;
    std::string name = m_name + "-" + std::to_string(index);
    name.resize(std::min<std::size_t>(name.size(), 15)); // the kernel's limit
    ::pthread_setname_np(::pthread_self(), name.c_str());
    for (;;) {
        std::shared_ptr<detail::pool_job> job;
        {
            std::unique_lock lock(m_mutex);
            m_work_ready.wait(lock, [&] { return m_closed || !m_queue.empty(); });
            if (m_queue.empty()) {
                return; // closed and drained
            }
            job = std::move(m_queue.front());
            m_queue.pop_front();
        }
        m_room.notify_one();
        detail::run_job(*job, job);
    }
}

void thread_pool::push(std::shared_ptr<detail::pool_job> job) {
    m_queue.push_back(std::move(job));
}

void thread_pool::post_job(std::shared_ptr<detail::pool_job> j) {
    {
        std::unique_lock lock(m_mutex);
        if (m_max_queued != 0 && m_queue.size() >= m_max_queued && !m_closed) {
            if (detail::drives_a_loop() || is_worker_thread()) {
                detail::throw_usage("thread_pool::post() on a full queue from a loop's thread "
                                    "(or a worker) would block it; use try_post(), or co_await "
                                    "run_in_executor()");
            }
            m_room.wait(lock, [&] { return m_closed || m_queue.size() < m_max_queued; });
        }
        if (m_closed) {
            detail::throw_usage("thread_pool::post() after shutdown()");
        }
        push(std::move(j));
    }
    m_work_ready.notify_one();
}

auto thread_pool::try_post_job(std::shared_ptr<detail::pool_job> j) -> bool {
    {
        std::lock_guard lock(m_mutex);
        if (m_closed) {
            detail::throw_usage("thread_pool::try_post() after shutdown()");
        }
        if (m_max_queued != 0 && m_queue.size() >= m_max_queued) {
            return false;
        }
        push(std::move(j));
    }
    m_work_ready.notify_one();
    return true;
}

void thread_pool::submit(std::shared_ptr<detail::pool_job> job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_closed) {
            detail::throw_usage("run_in_executor() on a thread_pool after its shutdown()");
        }
        push(std::move(job));
    }
    m_work_ready.notify_one();
}

void thread_pool::shutdown() {
    if (is_worker_thread()) {
        detail::throw_usage("thread_pool::shutdown() from one of its own workers would join "
                            "itself; shut it down from another thread");
    }
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
    }
    m_work_ready.notify_all();
    m_room.notify_all();
    std::lock_guard join_lock(m_join_mutex); // two shutdown() calls must not join one thread
    for (auto& w : m_workers) {
        if (w.joinable()) {
            w.join();
        }
    }
}

auto thread_pool::queued() const -> std::size_t {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

auto thread_pool::is_worker_thread() const noexcept -> bool {
    return detail::t_worker_of == this;
}

auto default_thread_pool() -> thread_pool& {
    // Never destroyed: loops and jobs that outlive main() (static destructors, a background
    // loop stopping at exit) may still use it, and destroying it would join running calls.
    static thread_pool* pool =
        new thread_pool({.threads = std::max<std::size_t>(4, std::thread::hardware_concurrency()),
                         .name = "coven-exec"});
    return *pool;
}

} // namespace coven
