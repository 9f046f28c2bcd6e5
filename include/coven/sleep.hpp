#pragma once
// coven::sleep(): suspend the calling task for a while (S9).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/timer_node.hpp>
#include <coven/duration.hpp>
#include <coven/error.hpp>
#include <coven/event_loop.hpp>
#include <coven/future.hpp>
#include <coven/source_location.hpp>
#include <coven/task.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace coven {

/// Awaiter of sleep() and sleep_until(): the timer node lives in the awaiting frame, so sleeping
/// allocates nothing.
/// **Thread safety:** awaited from a coven task, on its loop's thread; the timer is the loop's.
class [[nodiscard, gnu::warn_unused]] sleep_awaiter : private detail::waiter,
                                                      private detail::timer_node {
public:
    using duration = event_loop::duration;
    using time_point = event_loop::time_point;

    // Until it is armed, m_tick holds the delay or the deadline in nanoseconds (as the bits of
    // an int64): the awaiter lives in every sleeping frame, so it carries no separate field.
    explicit sleep_awaiter(duration d) noexcept {
        m_tick = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
        m_owner_bits = relative_bit;
    }
    explicit sleep_awaiter(time_point t) noexcept {
        m_tick = static_cast<std::uint64_t>(t.time_since_epoch().count());
    }
    sleep_awaiter(const sleep_awaiter&) = delete;
    auto operator=(const sleep_awaiter&)->sleep_awaiter& = delete;
    ~sleep_awaiter() {
        if (armed()) { // a suspended frame destroyed at loop teardown
            detail::disarm_timer(m_task->m_loop, this);
        }
    }

    [[nodiscard]] auto await_ready() const noexcept->bool {
        return false;
    }
    auto await_suspend(std::coroutine_handle<> h)->bool {
        m_task = detail::require_current_task("sleep()");
        if (detail::cancel_pending(m_task)) {
            m_owner_bits |= cancel_seen_bit;
            return false;
        }
        time_point deadline =
            (m_owner_bits & relative_bit)
                ? detail::saturating_deadline(detail::loop_now("sleep()"), duration(stored_ns()))
                : time_point(duration(stored_ns()));
        m_on_cancel = [](detail::waiter* w, detail::promise_base* t) noexcept {
            auto* self = static_cast<sleep_awaiter*>(w);
            self->m_owner_bits |= cancel_seen_bit;
            detail::disarm_timer(t->m_loop, self);
            detail::wake(t);
            return detail::cancel_result::unlinked_owes_nothing; // the timer is gone
        };
        m_fire = [](detail::timer_node* n) noexcept {
            detail::wake(static_cast<sleep_awaiter*>(n)->m_task);
        };
        detail::park(m_task, this, h);
        detail::arm_timer(this, deadline);
        return true;
    }
    void await_resume() {
        if (m_owner_bits & cancel_seen_bit) {
            detail::throw_cancelled(m_task);
        }
    }

    /// Turns the sleep into a task of the current loop (scarletio's sleep returns a future): it
    /// can be cancelled, awaited by many, or added to a group. The deadline counts from now.
    /// **Cancellation:** the future's task is cancelled like any task (its timer is disarmed);
    /// awaiting the future follows future's rules.
    /// **Thread safety:** a thread that drives a loop.
    /// **Throws:** usage_error off a loop thread; std::bad_alloc.
    [[nodiscard]] auto as_future() const->future<void>;
    // NOLINTNEXTLINE(google-explicit-constructor): `future<void> f = sleep(1s);` reads as the seed
    operator future<void>() const {
        return as_future();
    }

private:
    static constexpr std::uint8_t relative_bit = 1;
    static constexpr std::uint8_t cancel_seen_bit = 2;
    [[nodiscard]] auto stored_ns() const noexcept->std::int64_t {
        return static_cast<std::int64_t>(m_tick);
    }

    // Kept small: the awaiter lives in every sleeping frame (one timer per sleeper).
    detail::promise_base* m_task = nullptr;
};

/// Suspends the calling task for `d` (S9). The timer fires no earlier than `d` after the call,
/// rounded up to the wheel's microsecond; equal deadlines resume in the order they were armed.
/// Durations follow coven/duration.hpp: a negative one is zero, one past the clock's range (or
/// infinity) sleeps until cancelled.
/// **Cancellation:** cancelling disarms the timer and resumes the task at once with
/// cancelled_error. A sleep with a cancellation already pending raises at once without arming
/// the timer. A timer that fired in the same tick as the cancel delivers the wake-up, and the
/// cancel is raised at the next await. future::abort() drops a sleeping task without resuming it.
/// **Thread safety:** awaited from a coven task, on its loop's thread.
/// **Throws:** usage_error outside a coven task, or for a NaN duration.
/// **Example:** `co_await coven::sleep(1.5); co_await coven::sleep(250ms);`
template <class Rep, class Period>
[[nodiscard]] auto sleep(std::chrono::duration<Rep, Period> d,
                         coven::source_location where = coven::source_location::current())
    -> sleep_awaiter {
    detail::note_await_site(where); // (await_sync() says where it blocked)
    return sleep_awaiter(detail::to_loop_duration(d, "sleep()"));
}
/// sleep() in seconds, as scarletio spells it: `co_await coven::sleep(1.0);`
[[nodiscard]] inline auto sleep(double seconds,
                                coven::source_location where = coven::source_location::current())
    -> sleep_awaiter {
    detail::note_await_site(where);
    return sleep_awaiter(detail::seconds_to_loop_duration(seconds, "sleep()"));
}
/// Suspends the calling task until the loop's clock reaches `t`; time_point::max() never comes.
/// **Cancellation:** as sleep(). **Throws:** usage_error outside a coven task.
[[nodiscard]] inline auto
sleep_until(event_loop::time_point t,
            coven::source_location where = coven::source_location::current()) noexcept
    -> sleep_awaiter {
    detail::note_await_site(where);
    return sleep_awaiter(t);
}

inline auto sleep_awaiter::as_future() const -> future<void> {
    auto* loop = current_loop();
    if (!loop) {
        detail::throw_usage("sleep(...) used as a future outside a loop thread; call it from a "
                            "task, or co_await it directly");
    }
    auto deadline = (m_owner_bits & relative_bit)
                        ? detail::saturating_deadline(loop->now(), duration(stored_ns()))
                        : time_point(duration(stored_ns()));
    return loop->create_task([](time_point t) -> task<void> { co_await sleep_until(t); }(deadline));
}

} // namespace coven
