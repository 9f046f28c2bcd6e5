#pragma once
// The epoll backend as far as the loop core needs it now: an epoll instance with an eventfd that
// other threads write to wake the loop. Socket registration arrives with the networking issue.

namespace coven::detail {

class epoll_poller {
public:
    epoll_poller();
    ~epoll_poller();
    epoll_poller(const epoll_poller&) = delete;
    auto operator=(const epoll_poller&) -> epoll_poller& = delete;

    /// Waits up to `timeout_ms` (-1: no limit) for events; returns true if the wake-up eventfd
    /// fired (it is then reset). EINTR counts as a wake-up with nothing to report.
    auto wait(int timeout_ms) -> bool;
    /// Makes a concurrent or future wait() return. Any thread; async-signal-safe.
    void wake() noexcept;

private:
    int m_epoll = -1;
    int m_event = -1;
};

} // namespace coven::detail
