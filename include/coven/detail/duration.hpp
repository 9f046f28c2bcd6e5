#pragma once
// Durations and deadlines in the loop's units, without overflow: every timeout API clamps the
// same way (a negative duration has passed already; hours::max() or 1e300 s mean "never").

#include <chrono>

namespace coven::detail {

using loop_duration = std::chrono::nanoseconds;
using loop_time_point = std::chrono::steady_clock::time_point;

/// `d` in nanoseconds, clamped to [0, max]; NaN counts as max.
template <class Rep, class Period>
auto to_loop_duration(std::chrono::duration<Rep, Period> d) noexcept -> loop_duration {
    const double ns = std::chrono::duration<double, std::nano>(d).count();
    if (!(ns < 9.2e18)) {
        return loop_duration::max();
    }
    if (ns <= 0) {
        return loop_duration::zero();
    }
    return std::chrono::duration_cast<loop_duration>(d);
}

/// now + d, saturating at time_point::max() ("no deadline").
inline auto saturating_deadline(loop_time_point now, loop_duration d) noexcept -> loop_time_point {
    return d >= loop_time_point::max() - now ? loop_time_point::max() : now + d;
}

} // namespace coven::detail
