#pragma once
// The epoll engine: a readiness engine (src/io/backend.hpp). One epoll instance, an eventfd that
// other threads write to wake the loop, and a table of the fds that operations wait on.

#include "io/backend.hpp"
#include "io/fd_table.hpp"

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
        return m_fds.readiness(fd);
    }
    void clear_readiness(int fd, std::uint8_t bits) noexcept override {
        m_fds.clear_readiness(fd, bits);
    }
    [[nodiscard]] auto pending() const noexcept -> std::size_t override { return m_pending; }
    [[nodiscard]] auto name() const noexcept -> const char* override { return "epoll"; }

private:
    /// An fd's waiters (fd_table.hpp) and what epoll watches for it. An attached fd is
    /// registered once, edge-triggered, for reading and writing.
    struct fd_slot : fd_waiters {
        std::uint32_t registered = 0; // the events epoll watches for it now (0: not added)
    };
    /// Tells epoll what `fd` waits for now (adds, modifies or removes it); throws on a failure
    /// to add or modify, which start() reports.
    void update(int fd, fd_slot& slot);

    int m_epoll = -1;
    int m_event = -1;
    fd_table<fd_slot> m_fds;
    std::size_t m_pending = 0;
};

} // namespace coven::detail
