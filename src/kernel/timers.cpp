// Arming and disarming the loop's timers, and reading its clock from a task.

#include "loop_state.hpp"

#include <coven/detail/accounting.hpp>

#include <string>

namespace coven::detail {

// ---------------------------------------------------------------- timers

/// The loop whose timers the running code uses: the one this thread drives, else (inside
/// await_sync(), which hides the loop) the running task's own.
namespace {
auto timer_loop() noexcept -> loop_state* {
    if (t_loop != nullptr) {
        return t_loop;
    }
    return t_current_task != nullptr ? state_of(t_current_task) : nullptr;
}
} // namespace

auto loop_time(const loop_core* loop) noexcept -> loop_time_point {
    const auto* s = static_cast<const loop_state*>(loop);
    return s->m_origin + loop_duration(s->now_ns());
}

auto loop_now(const char* what) -> loop_time_point {
    loop_state* loop = timer_loop();
    if (loop == nullptr) {
        throw usage_error(std::string("coven: ") + what + " used outside a loop thread");
    }
    return loop_time(loop);
}

void arm_timer(timer_node* node, loop_time_point deadline) {
    arm_timer_on(timer_loop(), node, deadline);
}

void arm_timer_on(loop_core* core, timer_node* node, loop_time_point deadline) {
    auto* loop = static_cast<loop_state*>(core);
    // Rounded up to the tick: never early. A deadline the clock's range cannot reach (the
    // rounded tick would not fit the clock's nanoseconds) is "never": nothing is armed, and
    // only a cancel ends the wait (coven/duration.hpp).
    std::uint64_t tick = 0;
    if (deadline > loop->m_origin) { // (both sides of the subtraction are in range then)
        const std::int64_t ns = (deadline - loop->m_origin).count();
        tick = static_cast<std::uint64_t>(ns / 1000 + (ns % 1000 != 0 ? 1 : 0));
        if (tick > max_tick) {
            return;
        }
    }
    loop->m_wheel.arm(node, tick);
    count_add(g_live.timers, 1);
}

void disarm_timer(loop_core* loop, timer_node* node) noexcept {
    if (node->armed()) {
        static_cast<loop_state*>(loop)->m_wheel.disarm(node);
        count_add(g_live.timers, -1);
    }
}

} // namespace coven::detail
