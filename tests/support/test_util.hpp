#pragma once
// Helpers shared by coven's tests.

#include <coven/coven.hpp>
#include <coven/testing.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coven_test {

using namespace std::chrono_literals;

/// A loop on the virtual clock, driven by the test's thread.
inline auto virtual_options() -> coven::loop_options {
    return coven::loop_options{.clock = coven::clock_kind::virtual_time};
}

/// The loop time point `seconds` after the (virtual) clock's origin.
inline auto at(double seconds) -> coven::event_loop::time_point {
    return coven::event_loop::time_point(std::chrono::duration_cast<coven::event_loop::duration>(
        std::chrono::duration<double>(seconds)));
}

/// A task that sleeps, then returns `value`.
inline auto sleep_then(double seconds, int value) -> coven::task<int> {
    co_await coven::sleep(seconds);
    co_return value;
}

/// A task that only sleeps.
inline auto sleep_for(double seconds) -> coven::task<void> {
    co_await coven::sleep(seconds);
}

/// Sleeps `seconds`; if cancelled meanwhile, runs a cleanup that itself sleeps `cleanup`
/// seconds (unshielded: a cancel request is consumed when raised), appends "cleanup done" to
/// `log`, and ends cancelled.
inline auto sleep_with_slow_cleanup(double seconds, double cleanup, std::vector<std::string>& log)
    -> coven::task<void> {
    bool cancelled = false;
    try {
        co_await coven::sleep(seconds);
    } catch (const coven::cancelled_error&) {
        cancelled = true; // (C++ forbids co_await inside a handler)
    }
    if (cancelled) {
        co_await coven::sleep(cleanup);
        log.push_back("cleanup done");
        throw coven::cancelled_error();
    }
}

/// A door that a blocking call (on a pool, on another thread) waits at until the test opens it.
class gate {
public:
    void open() {
        {
            std::lock_guard lock(m_mutex);
            m_open = true;
        }
        m_cv.notify_all();
    }
    void pass() {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_open; });
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_open = false;
};

/// Ends the process with a message if it is still alive `seconds` from its construction: a test
/// of a bug that hangs fails quickly and says what hung, instead of waiting for CTest's timeout.
class watchdog {
public:
    explicit watchdog(const char* what, double seconds = 30) : m_what(what) {
        m_thread = std::thread([this, seconds] {
            std::unique_lock lock(m_mutex);
            if (!m_cv.wait_for(lock, std::chrono::duration<double>(seconds),
                               [&] { return m_done; })) {
                std::fprintf(stderr, "watchdog: %s did not finish within %.0f s\n", m_what,
                             seconds);
                std::fflush(stderr);
                std::_Exit(3);
            }
        });
    }
    watchdog(const watchdog&) = delete;
    auto operator=(const watchdog&) -> watchdog& = delete;
    ~watchdog() {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }

private:
    const char* m_what;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
    std::thread m_thread;
};

/// Seconds of virtual time since the loop's origin.
inline auto vtime(const coven::event_loop& loop) -> double {
    return loop.time();
}

} // namespace coven_test
