#pragma once
// How every timed entry point reads a duration or a deadline (sleep, the timeouts and scopes,
// repeat_timeout, task_timeout, apply_timeout, waits with a timeout, advance):
//  - one past the loop clock's range (about 292 years of nanoseconds), or infinite, means
//    "never": no timer is armed, and only a cancel ends the wait;
//  - a negative one has passed already: zero;
//  - NaN is refused with a usage_error that names the call.
// A deadline (a time point) follows the same rule: time_point::max() means never, and one at or
// before now has passed. The arithmetic saturates instead of overflowing.

#include <coven/error.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace coven {

namespace detail {

using loop_duration = std::chrono::nanoseconds;
using loop_time_point = std::chrono::steady_clock::time_point;

[[noreturn]] void throw_nan_duration(const char* what);

/// `d` in the loop's nanoseconds, by the rule above; `what` names the caller in the error.
template <class Rep, class Period>
auto to_loop_duration(std::chrono::duration<Rep, Period> d, const char* what) -> loop_duration {
    if constexpr (std::is_floating_point_v<Rep>) {
        if (std::isnan(d.count())) {
            throw_nan_duration(what);
        }
    }
    const double ns = std::chrono::duration<double, std::nano>(d).count();
    if (!(ns < 9.2e18)) {
        return loop_duration::max(); // (a few hundred ms short of the range: never too)
    }
    if (ns <= 0) {
        return loop_duration::zero();
    }
    if (ns >= 1e17) {
        // Over three years: through the double, whose rounding (16 ns here) does not matter,
        // because an exact cast of an odd period could overflow on the way.
        return loop_duration(static_cast<loop_duration::rep>(ns));
    }
    return std::chrono::duration_cast<loop_duration>(d);
}

/// Seconds, as the seeds spell durations, by the same rule.
inline auto seconds_to_loop_duration(double seconds, const char* what) -> loop_duration {
    return to_loop_duration(std::chrono::duration<double>(seconds), what);
}

/// now + d (d >= 0), saturating at time_point::max() ("never").
inline auto saturating_deadline(loop_time_point now, loop_duration d) noexcept -> loop_time_point {
    return d >= loop_time_point::max() - now ? loop_time_point::max() : now + d;
}

} // namespace detail

/// A duration as an option field holds it (`scope_options::timeout`): made from any
/// std::chrono::duration, or from seconds as a double, by the rule at the top of this header, so
/// that `{.timeout = std::chrono::hours::max()}` means "never" instead of overflowing.
/// **Thread safety:** a plain value: any thread.
/// **Throws:** usage_error for NaN (the converting constructors; nothing else throws).
class saturating_duration {
public:
    /// Never: no deadline.
    constexpr saturating_duration() noexcept = default;
    // NOLINTNEXTLINE(google-explicit-constructor): `.timeout = 10s` is the point
    template <class Rep, class Period>
    saturating_duration(std::chrono::duration<Rep, Period> d)
        : m_ns(detail::to_loop_duration(d, "a duration option")) {}
    // NOLINTNEXTLINE(google-explicit-constructor): `.timeout = 2.5` (seconds), as the seeds write
    saturating_duration(double seconds)
        : m_ns(detail::seconds_to_loop_duration(seconds, "a duration option")) {}

    [[nodiscard]] static constexpr auto never() noexcept -> saturating_duration { return {}; }
    [[nodiscard]] constexpr auto is_never() const noexcept -> bool {
        return m_ns == std::chrono::nanoseconds::max();
    }
    [[nodiscard]] constexpr auto get() const noexcept -> std::chrono::nanoseconds { return m_ns; }
    friend constexpr auto operator==(saturating_duration, saturating_duration) noexcept
        -> bool = default;

private:
    std::chrono::nanoseconds m_ns = std::chrono::nanoseconds::max();
};

} // namespace coven
