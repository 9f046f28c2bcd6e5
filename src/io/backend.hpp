#pragma once
// The I/O seam: what a loop asks of its I/O engine. The kernel owns one engine per loop, picked
// at the loop's creation (loop_options::io, or COVEN_IO), and talks to it only through this
// interface; sockets, files and signals start operations (detail/io_op.hpp) on it.
//
// Both kinds of engine fit:
//  - a readiness engine (epoll): start() registers interest in an fd; wait() reports the fd
//    ready and completes the operation; the awaiter then does the system call itself, and parks
//    again on EAGAIN. cancel() drops the interest: always unlinked.
//  - a completion engine (io_uring): start() queues a submission that names the buffer; wait()
//    reaps completions. cancel() submits a cancellation and answers stays_parked: the engine
//    keeps the operation (and its buffer) until the completion arrives.
// Deadlines are nanoseconds of the loop's clock: each engine turns them into its own timeout
// (epoll: milliseconds, rounded up, never early).

#include <coven/detail/io_op.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace coven {
enum class io_engine : std::uint8_t; // loop_options::io (coven/event_loop.hpp)
} // namespace coven

namespace coven::detail {

class io_backend {
public:
    io_backend() = default;
    virtual ~io_backend() = default;
    io_backend(const io_backend&) = delete;
    auto operator=(const io_backend&) -> io_backend& = delete;

    /// Waits until an operation completes, wake() is called or `timeout_ns` passes (0: do not
    /// wait; negative: no limit), then completes what finished: each operation's m_complete
    /// runs here, on the loop's thread. EINTR counts as a wake-up with nothing to report.
    virtual void wait(std::int64_t timeout_ns) = 0;
    /// Any thread, async-signal-safe: makes a wait() under way, or the next one, return.
    virtual void wake() noexcept = 0;
    /// Starts `op` (idle). **Throws:** usage_error for an operation the engine cannot take (a
    /// second one of the same direction on one fd), error when the system refuses it.
    virtual void start(io_op& op) = 0;
    /// Gives up `op` (submitted): see io_cancel_result.
    virtual auto cancel(io_op& op) noexcept -> io_cancel_result = 0;
    /// Registers `fd` for as long as an object of coven's (a socket, an async_fd) owns it, so
    /// that waiting on it costs no system call: an operation on an attached fd only records its
    /// waiter. The owner tries its system call first and waits only after EAGAIN; the engine
    /// reports readiness that arrives after that. **Throws:** error when the system refuses the
    /// fd (not open, not pollable), usage_error when it is attached already.
    virtual void attach(int fd) = 0;
    /// Forgets an attached fd that its owner closes next (call it just before the close, with no
    /// operation on the fd). An engine may leave the unregistering to the close itself.
    virtual void detach(int fd) noexcept = 0;
    /// The readiness_bits of an attached fd: set by the engine when it reports the fd ready
    /// (both, when it is first attached), cleared by clear_readiness().
    [[nodiscard]] virtual auto readiness(int fd) const noexcept -> std::uint8_t = 0;
    /// The owner found the fd not ready for `bits` (EAGAIN, or a short transfer).
    virtual void clear_readiness(int fd, std::uint8_t bits) noexcept = 0;
    /// Operations started and not completed or given up.
    [[nodiscard]] virtual auto pending() const noexcept -> std::size_t = 0;
    [[nodiscard]] virtual auto name() const noexcept -> const char* = 0;

    /// Why this engine stands in for io_uring (COVEN_IO=auto where the kernel refused it);
    /// empty if it is the one asked for.
    [[nodiscard]] auto fallback_reason() const noexcept -> const std::string& { return m_fallback; }
    void set_fallback_reason(std::string why) { m_fallback = std::move(why); }

private:
    std::string m_fallback;
};

/// The engine a new loop gets: `wanted`, or for `automatic` the one COVEN_IO names (epoll by
/// default). **Throws:** usage_error for an engine this build or this kernel does not have.
auto make_io_backend(io_engine wanted) -> std::unique_ptr<io_backend>;

} // namespace coven::detail
