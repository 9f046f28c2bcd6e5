// The misuse checks every entry point shares: which thread may call what.

#include "loop_state.hpp"

#include <string>

namespace coven::detail {

void throw_outside_task(const char* what) {
    throw usage_error(std::string("coven: ") + what +
                      " awaited outside a coven task; run the coroutine with "
                      "coven::run(), event_loop::run() or create_task()");
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

} // namespace coven::detail
