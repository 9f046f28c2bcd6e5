#include <coven/run.hpp>
#include <coven/testing.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

namespace coven {
namespace {

struct default_loop_holder {
    std::mutex mutex;
    std::unique_ptr<event_loop> loop;
    bool options_set = false;
    loop_options options;
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

auto same_options(const loop_options& a, const loop_options& b) -> bool {
    return a.clock == b.clock && a.autojump == b.autojump &&
           a.io_poll_interval == b.io_poll_interval;
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

auto get_or_create_event_loop() -> event_loop& {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
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

auto detail::default_loop_running() -> bool {
    auto& h = holder();
    std::lock_guard lock(h.mutex);
    return h.loop && h.loop->is_running();
}

} // namespace coven
