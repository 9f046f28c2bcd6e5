#pragma once
// coven::signal_set: POSIX signals as awaitable events, and run_until_signal(), which turns
// SIGINT/SIGTERM into the cancellation of the work for a graceful shutdown (B4).

#include <coven/detail/socket_op.hpp>
#include <coven/task.hpp>

#include <initializer_list>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace coven {

/// Catches signals while it lives and hands them to a task, one at a time.
///
/// A signal handler of coven's writes the signal's number into a pipe of each signal_set that
/// waits for it; next() reads it on the loop. So any thread may receive the signal (no signal
/// mask to set up in every thread, which signalfd would need), and several sets, on several
/// loops, each get every signal they ask for. The handler the process had before comes back when
/// the last set for that signal is destroyed. Signals that arrive while nobody awaits next() are
/// kept (up to the pipe's capacity, 64 KiB of them) and delivered in order.
/// **Cancellation:** next() is cancel-safe: a cancelled next() took no signal.
/// **Throws:** usage_error for SIGKILL, SIGSTOP or a number that is not a signal; system_error
/// when the pipe or sigaction() fails.
/// **Thread safety:** made and awaited on one loop's thread; the signals come from anywhere.
/// **Example:**
/// ```
/// coven::signal_set signals{SIGHUP};
/// for (;;) { co_await signals.next(); reload_config(); }
/// ```
class signal_set {
public:
    signal_set(std::initializer_list<int> signals);
    explicit signal_set(const std::vector<int>& signals);
    ~signal_set();
    signal_set(const signal_set&) = delete;
    auto operator=(const signal_set&) -> signal_set& = delete;

    /// The next signal caught, by number.
    auto next() -> task<int>;

private:
    std::vector<int> m_signals;
    detail::owned_fd m_read;
    int m_write = -1;
    int m_slot = -1; // this set's place in the handler's table
};

/// Runs `work` until it ends or until one of `signals` arrives; then cancels it and waits for
/// it to unwind (a graceful shutdown: its cleanups run). Gives the signal that stopped it, or
/// nullopt when the work ended by itself. The work's own error is raised.
/// The signals are given one by one, not as a braced list: g++ 12 cannot compile a braced list
/// inside a co_await operand (docs/compilers.md).
/// **Example:** `if (auto sig = co_await coven::run_until_signal(serve(), SIGINT, SIGTERM))`
auto run_until_signal(task<void> work, std::vector<int> signals) -> task<std::optional<int>>;
template <class... More>
requires(std::is_convertible_v<More, int>&&...) auto run_until_signal(task<void> work, int signal,
                                                                      More... more)
    -> task<std::optional<int>> {
    return run_until_signal(std::move(work), std::vector<int>{signal, static_cast<int>(more)...});
}

} // namespace coven
