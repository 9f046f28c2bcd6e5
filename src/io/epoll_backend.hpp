#pragma once
// The epoll engine: a readiness engine (src/io/backend.hpp). One epoll instance, an eventfd that
// other threads write to wake the loop, and a table of the fds that operations wait on.

#include "io/backend.hpp"

#include <vector>

namespace coven::detail {

class epoll_backend final : public io_backend {
public:
    epoll_backend();
    ~epoll_backend() override;
    epoll_backend(const epoll_backend&) = delete;
    auto operator=(const epoll_backend&) -> epoll_backend& = delete;

    void wait(std::int64_t timeout_ns) override;
    void wake() noexcept override;
    void start(io_op& op) override;
    auto cancel(io_op& op) noexcept -> io_cancel_result override;
    void attach(int fd) override;
    void detach(int fd) noexcept override;
    [[nodiscard]] auto readiness(int fd) const noexcept -> std::uint8_t override {
        return static_cast<std::size_t>(fd) < m_fds.size()
                   ? m_fds[static_cast<std::size_t>(fd)].ready
                   : std::uint8_t{0};
    }
    void clear_readiness(int fd, std::uint8_t bits) noexcept override {
        if (static_cast<std::size_t>(fd) < m_fds.size()) {
            m_fds[static_cast<std::size_t>(fd)].ready &= static_cast<std::uint8_t>(~bits);
        }
    }
    [[nodiscard]] auto pending() const noexcept -> std::size_t override { return m_pending; }
    [[nodiscard]] auto name() const noexcept -> const char* override { return "epoll"; }

private:
    /// What waits on one fd: at most one operation per direction (Trio's rule: two tasks reading
    /// one fd at once is a bug in the caller, not a queue to keep).
    struct fd_slot {
        io_op* reader = nullptr;
        io_op* writer = nullptr;
        std::uint32_t registered = 0; // the events epoll watches for it now (0: not added)
        /// Registered once, edge-triggered, for reading and writing (attach()): operations on
        /// it change nothing in epoll.
        bool attached = false;
        std::uint8_t ready = 0; // readiness_bit: what the last edges reported, not yet used up
    };
    /// The slot of `fd`, the table grown to hold it. **Throws:** std::bad_alloc.
    auto slot_of(int fd) -> fd_slot&;
    /// Tells epoll what `fd` waits for now (adds, modifies or removes it); throws on a failure
    /// to add or modify, which start() reports.
    void update(int fd, fd_slot& slot);

    int m_epoll = -1;
    int m_event = -1;
    std::vector<fd_slot> m_fds; // by fd: fds are small integers, and a lookup is an index
    std::size_t m_pending = 0;
};

} // namespace coven::detail
