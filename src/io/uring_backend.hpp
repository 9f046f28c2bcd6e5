#pragma once
// The io_uring engine, first stage: a readiness engine (src/io/backend.hpp) on io_uring instead of
// epoll. Interest in an fd is a poll request in the ring (multishot for an attached fd, so that
// waiting costs no system call), requests are queued in the submission ring and sent with the
// one io_uring_enter() per loop turn that also waits, with the next timer's deadline (EXT_ARG):
// registering, waiting and reaping are one system call. Raw system calls and
// <linux/io_uring.h>, no liburing. Operations that transfer data in the ring (recv, send,
// accept, files) come in the next stage; until then the sockets do their own calls, as on epoll.

#include "io/backend.hpp"
#include "io/fd_table.hpp"

#include <linux/io_uring.h>

#include <cstdint>
#include <string>

namespace coven::detail {

class uring_backend final : public io_backend {
public:
    /// Sets up a ring. **Throws:** error saying why io_uring cannot be had (ENOSYS: the kernel
    /// has none; EPERM: forbidden, by seccomp or kernel.io_uring_disabled; ENOMEM: locked-memory
    /// limits; a kernel without the features this engine needs).
    uring_backend();
    ~uring_backend() override;
    uring_backend(const uring_backend&) = delete;
    auto operator=(const uring_backend&) -> uring_backend& = delete;

    void wait(std::int64_t timeout_ns) override;
    void wake() noexcept override;
    void start(io_op& op) override;
    auto cancel(io_op& op) noexcept -> io_cancel_result override;
    void attach(int fd) override;
    void detach(int fd) noexcept override;
    [[nodiscard]] auto readiness(int fd) const noexcept -> std::uint8_t override {
        return m_fds.readiness(fd);
    }
    void clear_readiness(int fd, std::uint8_t bits) noexcept override {
        m_fds.clear_readiness(fd, bits);
    }
    [[nodiscard]] auto pending() const noexcept -> std::size_t override { return m_pending; }
    [[nodiscard]] auto name() const noexcept -> const char* override { return "io_uring"; }

private:
    /// An fd's waiters (fd_table.hpp) and its poll request in the ring. An attached fd has a
    /// multishot request for reading and writing; another has a one-shot one while it waits.
    struct fd_slot : fd_waiters {
        /// The generation of the poll request armed for this fd (0: none). A completion names
        /// its generation in user_data; one of an older request is stale and ignored.
        std::uint32_t armed = 0;
        std::uint32_t armed_events = 0; // what the armed one-shot request waits for
    };
    /// A free submission entry, zeroed; sends the queue first if it is full.
    auto next_sqe() -> io_uring_sqe*;
    /// Publishes the entry next_sqe() gave, once filled.
    void push() noexcept;
    /// Queues a poll request for `fd` (multishot: attached); returns its generation.
    void arm(int fd, fd_slot& slot, std::uint32_t events, bool multishot);
    /// Queues the removal of the request armed for `fd`, if any.
    void disarm(int fd, fd_slot& slot);
    /// Queues the wake-up eventfd's read interest (multishot poll).
    void arm_wake();
    /// io_uring_enter: sends what is queued, waits for `min_complete` completions up to the
    /// deadline. Returns false on a timeout or an interruption.
    auto enter(unsigned min_complete, std::int64_t timeout_ns) -> bool;
    void reap();
    void complete_poll(std::uint64_t user_data, std::int32_t res, std::uint32_t flags);

    int m_ring = -1;
    int m_event = -1;
    // The rings, mapped from the kernel.
    void* m_sq_map = nullptr;
    std::size_t m_sq_map_size = 0;
    void* m_cq_map = nullptr; // == m_sq_map with IORING_FEAT_SINGLE_MMAP
    std::size_t m_cq_map_size = 0;
    io_uring_sqe* m_sqes = nullptr;
    std::size_t m_sqes_size = 0;
    unsigned* m_sq_head = nullptr;
    unsigned* m_sq_tail = nullptr;
    unsigned* m_sq_flags = nullptr;
    unsigned* m_sq_array = nullptr;
    unsigned m_sq_mask = 0;
    unsigned m_sq_entries = 0;
    unsigned* m_cq_head = nullptr;
    unsigned* m_cq_tail = nullptr;
    unsigned m_cq_mask = 0;
    io_uring_cqe* m_cqes = nullptr;
    unsigned m_queued = 0; // submission entries written since the last enter

    fd_table<fd_slot> m_fds;
    std::uint32_t m_generation = 0;
    std::size_t m_pending = 0;
};

/// Whether this kernel gives coven an io_uring engine; empty if so, else why not (for the
/// fallback's message). Sets up and tears down a small ring.
auto probe_io_uring() -> std::string;

} // namespace coven::detail
