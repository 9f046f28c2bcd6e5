// event_loop's public members (S3, S4, B3).

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

namespace coven {

auto detail::loop_state_of(event_loop& loop) noexcept -> loop_state& {
    return *loop.m_state;
}

auto detail::loop_core_of(event_loop& loop) noexcept -> loop_core* {
    return &loop_state_of(loop);
}

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
        s.m_io->wake();
        return;
    }
    std::lock_guard lock(s.m_lifecycle);
    if (s.m_thread.joinable()) {
        s.m_stop_requested.store(true);
        s.m_io->wake();
        s.m_thread.join();
        s.m_stop_requested.store(false);
        return;
    }
    // A run_until_complete() on another thread, or nobody. The request is raised first; then
    // whoever drives the loop acts on it: that run (at its next iteration, or as it ends), or
    // this call if it can take the loop (see ~drive_guard()).
    s.m_stop_requested.store(true);
    s.m_io->wake();
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
    s.m_io->wake();
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

auto event_loop::io_engine_name() const noexcept -> const char* {
    return m_state->m_io->name();
}

auto event_loop::io_fallback_reason() const -> std::string {
    return m_state->m_io->fallback_reason();
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

} // namespace coven
