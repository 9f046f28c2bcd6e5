#include <coven/run.hpp>
#include <coven/testing.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

namespace coven {
namespace {

struct default_loop_holder {
    std::mutex mutex;
    std::unique_ptr<event_loop> loop;
    bool options_set = false;
    loop_options options;
    // coven::run() calls inside the default loop (under run_mutex), and whether one of them
    // started it and nobody else asked for it since (then the last to leave stops it; under
    // `mutex`). run_mutex is a mutex of its own: stop() joins the loop's thread, whose tasks may
    // take `mutex` (get_or_create_event_loop()), never run_mutex (run() refuses them first).
    std::mutex run_mutex;
    int runs = 0;
    bool started_by_run = false;
};

auto holder() -> default_loop_holder& {
    static default_loop_holder h;
    return h;
}

auto env_options() -> loop_options {
    loop_options o;
    if (const char* c = std::getenv("COVEN_CLOCK"); c && std::strcmp(c, "virtual") == 0) {
        o.clock = clock_kind::virtual_time;
    }
    return o;
}

/// The options a default (or thread) loop gets when made now.
auto wanted_options(default_loop_holder& h) -> loop_options {
    std::lock_guard lock(h.mutex);
    return h.options_set ? h.options : env_options();
}

/// Every field: a stopped default loop whose options differ in any is made anew.
auto same_options(const loop_options& a, const loop_options& b) -> bool {
    return a.clock == b.clock && a.autojump == b.autojump &&
           a.io_poll_interval == b.io_poll_interval && a.scheduling == b.scheduling &&
           a.boost_starved == b.boost_starved && a.io == b.io &&
           a.stop_grace.get() == b.stop_grace.get() &&
           a.stop_report_after.get() == b.stop_report_after.get();
}

thread_local std::unique_ptr<event_loop> t_thread_loop;

} // namespace

auto this_thread_loop() -> event_loop& {
    // Made once per thread and never replaced: scopes and results made on it point at it.
    if (!t_thread_loop) {
        t_thread_loop = std::make_unique<event_loop>(wanted_options(holder()));
    }
    return *t_thread_loop;
}

namespace {
/// The default loop, started if it is not running (`h.mutex` held).
auto get_or_create_locked(default_loop_holder& h) -> event_loop& {
    if (h.loop && h.loop->is_running()) {
        return *h.loop;
    }
    if (h.loop && h.loop->in_loop_thread()) {
        return *h.loop; // stopping from inside: hand back the same loop
    }
    loop_options wanted = h.options_set ? h.options : env_options();
    if (!h.loop || !same_options(h.loop->options(), wanted)) {
        h.loop = std::make_unique<event_loop>(wanted);
    }
    h.loop->start();
    return *h.loop;
}
} // namespace

auto get_or_create_event_loop() -> event_loop& {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
    event_loop& loop = get_or_create_locked(h);
    if (!loop.in_loop_thread()) {
        // Another thread holds the loop now, outside any coven::run(): the run() that started
        // it must not stop it under that thread. Whoever asked for the loop stops it.
        h.started_by_run = false;
    }
    return loop;
}

void set_default_loop_options(loop_options options) {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
    h.options = options;
    h.options_set = true;
}

void testing::reset_default_loop() {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
    if (h.loop && h.loop->is_running()) {
        detail::throw_usage("testing::reset_default_loop() while the default loop runs; stop() it "
                            "first");
    }
    h.loop.reset();
    if (t_thread_loop && t_thread_loop->is_running()) {
        detail::throw_usage("testing::reset_default_loop() from a task of this thread's loop");
    }
    t_thread_loop.reset();
    detail::reset_sync_loop();
}

auto detail::enter_default_run() -> event_loop& {
    auto& h = holder();
    if (event_loop* here = current_loop()) {
        std::lock_guard lock(h.mutex);
        if (here == h.loop.get()) {
            detail::throw_usage("coven::run() called from a task of the default loop, which "
                                "would deadlock; co_await the task instead");
        }
    }
    std::lock_guard run_lock(h.run_mutex);
    std::lock_guard lock(h.mutex);
    const bool created = !(h.loop && h.loop->is_running());
    event_loop& loop = get_or_create_locked(h);
    if (created) {
        h.started_by_run = true;
    }
    ++h.runs;
    return loop;
}

void detail::leave_default_run(event_loop& loop) noexcept {
    auto& h = holder();
    std::lock_guard run_lock(h.run_mutex);
    if (--h.runs != 0) {
        return;
    }
    {
        std::lock_guard lock(h.mutex);
        if (!std::exchange(h.started_by_run, false) || h.loop.get() != &loop) {
            return; // not ours to stop, or replaced meanwhile (stopped and remade)
        }
    }
    try {
        loop.stop();
    } catch (...) {
        report_callback_error(std::current_exception());
    }
}

auto detail::default_loop_running() -> bool {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
    return h.loop && h.loop->is_running();
}

} // namespace coven
