#include "io/epoll_backend.hpp"

#include <coven/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>

namespace coven::detail {
namespace {

[[noreturn]] void throw_errno(const char* what, int err) {
    throw error(std::string("coven: ") + what + ": " + std::strerror(err));
}

// epoll's data word: the wake-up eventfd is marked by a value no fd has.
constexpr std::uint64_t wake_marker = ~std::uint64_t{0};

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLPRI;

/// epoll's events as poll(2)'s, which is what io_op::m_result reports.
auto as_poll_events(std::uint32_t ev) noexcept -> std::int64_t {
    std::int64_t r = 0;
    r |= (ev & EPOLLIN) ? POLLIN : 0;
    r |= (ev & EPOLLPRI) ? POLLPRI : 0;
    r |= (ev & EPOLLOUT) ? POLLOUT : 0;
    r |= (ev & EPOLLERR) ? POLLERR : 0;
    r |= (ev & EPOLLHUP) ? POLLHUP : 0;
    r |= (ev & EPOLLRDHUP) ? POLLRDHUP : 0;
    return r;
}

} // namespace

epoll_backend::epoll_backend() {
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0) {
        throw_errno("epoll_create1 failed (too many open files? raise RLIMIT_NOFILE)", errno);
    }
    m_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_event < 0) {
        const int err = errno;
        ::close(m_epoll);
        throw_errno("eventfd failed", err);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_marker;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_event, &ev) < 0) {
        const int err = errno;
        ::close(m_event);
        ::close(m_epoll);
        throw_errno("epoll_ctl(eventfd) failed", err);
    }
}

epoll_backend::~epoll_backend() {
    ::close(m_event);
    ::close(m_epoll);
}

void epoll_backend::wait(std::int64_t timeout_ns) {
    int timeout_ms = -1;
    if (timeout_ns >= 0) {
        // Rounded up: never early. (A sub-millisecond timer then waits one millisecond at most,
        // instead of spinning through zero-timeout polls.)
        const std::int64_t ms = timeout_ns / 1'000'000 + (timeout_ns % 1'000'000 != 0 ? 1 : 0);
        timeout_ms = ms > std::int64_t{INT32_MAX} ? INT32_MAX : static_cast<int>(ms);
    }
    epoll_event events[64];
    const int n = ::epoll_wait(m_epoll, events, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            return;
        }
        throw_errno("epoll_wait failed", errno);
    }
    for (int i = 0; i < n; ++i) {
        const std::uint64_t data = events[i].data.u64;
        const std::uint32_t ev = events[i].events;
        if (data == wake_marker) {
            std::uint64_t value = 0;
            // Non-blocking: EAGAIN just means another read already reset it.
            [[maybe_unused]] auto r = ::read(m_event, &value, sizeof value);
            continue;
        }
        const int fd = static_cast<int>(data);
        fd_slot* slot = m_fds.find(fd);
        if (slot == nullptr) {
            continue; // given up after this batch was collected
        }
        const std::int64_t seen = as_poll_events(ev);
        const auto [reader, writer] = slot->take_woken(static_cast<std::uint32_t>(seen));
        m_pending -= (reader != nullptr ? 1 : 0) + (writer != nullptr ? 1 : 0);
        if (!slot->attached) {
            try {
                update(fd, *slot); // fewer events: a removal or a narrowing, which do not fail
            } catch (...) {
            }
        }
        if (reader != nullptr) {
            complete_ready(reader, seen);
        }
        if (writer != nullptr) {
            complete_ready(writer, seen);
        }
    }
}

void epoll_backend::wake() noexcept {
    std::uint64_t one = 1;
    // EAGAIN only if the counter would overflow, in which case the fd is readable anyway.
    [[maybe_unused]] auto r = ::write(m_event, &one, sizeof one);
}

void epoll_backend::update(int fd, fd_slot& slot) {
    std::uint32_t want = 0;
    if (slot.reader != nullptr) {
        want |= read_events;
    }
    if (slot.writer != nullptr) {
        want |= EPOLLOUT;
    }
    if (want == slot.registered) {
        return;
    }
    if (want == 0) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr); // (a closed fd is gone already)
        slot.registered = 0;
        return;
    }
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    if (::epoll_ctl(m_epoll, slot.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0) {
        throw_errno("epoll_ctl failed (is the fd open?)", errno);
    }
    slot.registered = want;
}

void epoll_backend::start(io_op& op) {
    fd_slot& slot = m_fds.at(op.m_fd); // may throw: nothing changed yet
    io_op*& place = slot.place_of(op);
    place = &op;
    if (!slot.attached) {
        try {
            update(op.m_fd, slot);
        } catch (...) {
            place = nullptr;
            throw;
        }
    }
    op.m_state = io_op::lifecycle::submitted;
    ++m_pending;
}

auto epoll_backend::cancel(io_op& op) noexcept -> io_cancel_result {
    fd_slot* slot = m_fds.find(op.m_fd);
    if (slot != nullptr && slot->unlink(op)) {
        --m_pending;
        if (!slot->attached) {
            try {
                update(op.m_fd, *slot);
            } catch (...) {
            }
        }
    }
    op.m_state = io_op::lifecycle::idle;
    return io_cancel_result::unlinked; // interest only: nothing is held
}

void epoll_backend::attach(int fd) {
    fd_slot& slot = m_fds.at(fd);
    if (slot.attached || slot.registered != 0) {
        detail::throw_usage("this fd is registered with the loop already: one coven object per "
                            "fd (an async_fd, a socket) at a time");
    }
    epoll_event ev{};
    ev.events = read_events | EPOLLOUT | EPOLLET;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) < 0) {
        throw_errno("epoll_ctl(EPOLL_CTL_ADD) failed (is the fd open, and pollable?)", errno);
    }
    slot.attached = true;
    slot.ready = ready_to_read | ready_to_write; // unknown: the first calls try
}

void epoll_backend::detach(int fd) noexcept {
    fd_slot* slot = m_fds.find(fd);
    if (slot == nullptr || !slot->attached) {
        return;
    }
    // No EPOLL_CTL_DEL: the owner closes the fd next, and closing drops it from every epoll
    // set, which saves a system call per connection. Only a second reference to the same open
    // file (a dup() of the fd, a forked child that has not exec'd yet: coven's fds are
    // CLOEXEC) keeps it registered; its edges then arrive under the old number and read as
    // readiness of whatever fd has that number next: a call that finds EAGAIN, nothing worse.
    *slot = fd_slot{};
}

} // namespace coven::detail
