#include "epoll_poller.hpp"

#include <coven/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace coven::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw error(std::string("coven: ") + what + ": " + std::strerror(errno));
}

} // namespace

epoll_poller::epoll_poller() {
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0) {
        throw_errno("epoll_create1 failed (too many open files? raise RLIMIT_NOFILE)");
    }
    m_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_event < 0) {
        ::close(m_epoll);
        throw_errno("eventfd failed");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_event, &ev) < 0) {
        ::close(m_event);
        ::close(m_epoll);
        throw_errno("epoll_ctl(eventfd) failed");
    }
}

epoll_poller::~epoll_poller() {
    ::close(m_event);
    ::close(m_epoll);
}

auto epoll_poller::wait(int timeout_ms) -> bool {
    epoll_event events[64];
    int n = ::epoll_wait(m_epoll, events, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            return true;
        }
        throw_errno("epoll_wait failed");
    }
    bool woken = false;
    for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == 0) {
            std::uint64_t value = 0;
            // Non-blocking: EAGAIN just means another read already reset it.
            [[maybe_unused]] auto r = ::read(m_event, &value, sizeof value);
            woken = true;
        }
    }
    return woken;
}

void epoll_poller::wake() noexcept {
    std::uint64_t one = 1;
    // EAGAIN only if the counter would overflow, in which case the fd is readable anyway.
    [[maybe_unused]] auto r = ::write(m_event, &one, sizeof one);
}

} // namespace coven::detail
