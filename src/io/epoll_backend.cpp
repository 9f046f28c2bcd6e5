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
constexpr std::uint32_t any_end = EPOLLERR | EPOLLHUP;

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

void complete(io_op* op, std::uint32_t ev) noexcept {
    op->m_state = io_op::lifecycle::completed;
    op->m_result = as_poll_events(ev);
    op->m_complete(op);
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
        if (static_cast<std::size_t>(fd) >= m_fds.size()) {
            continue; // given up after this batch was collected
        }
        fd_slot& slot = m_fds[static_cast<std::size_t>(fd)];
        if (slot.attached) { // remembered for the owner's next call (readiness_bit)
            slot.ready |= static_cast<std::uint8_t>(
                ((ev & (read_events | any_end)) != 0 ? ready_to_read : 0) |
                ((ev & (EPOLLOUT | any_end)) != 0 ? ready_to_write : 0) |
                ((ev & (EPOLLRDHUP | any_end)) != 0 ? read_closed : 0) |
                ((ev & any_end) != 0 ? write_closed : 0));
        }
        // Taken out of the slot before any completion runs: a completion may start the next
        // operation on the same fd (or cancel the other one). On an attached fd an edge nobody
        // waits for lives on only in the readiness bits above, which the owner's next call reads.
        io_op* reader =
            (ev & (read_events | any_end)) != 0 ? std::exchange(slot.reader, nullptr) : nullptr;
        io_op* writer =
            (ev & (EPOLLOUT | any_end)) != 0 ? std::exchange(slot.writer, nullptr) : nullptr;
        m_pending -= (reader != nullptr ? 1 : 0) + (writer != nullptr ? 1 : 0);
        if (!slot.attached) {
            try {
                update(fd, slot); // fewer events: a removal or a narrowing, which do not fail
            } catch (...) {
            }
        }
        if (reader != nullptr) {
            complete(reader, ev);
        }
        if (writer != nullptr) {
            complete(writer, ev);
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
    const bool reads = (op.m_events & (POLLIN | POLLPRI | POLLRDHUP)) != 0;
    const bool writes = (op.m_events & POLLOUT) != 0;
    if (reads == writes) {
        detail::throw_usage("an fd operation waits for reading or for writing, one of the two; "
                            "start one of each to wait for both");
    }
    fd_slot& slot = slot_of(op.m_fd); // may throw bad_alloc: nothing changed yet
    io_op*& place = reads ? slot.reader : slot.writer;
    if (place != nullptr) {
        detail::throw_usage(reads ? "another task already waits for this fd to be readable; one "
                                    "reader per fd at a time"
                                  : "another task already waits for this fd to be writable; one "
                                    "writer per fd at a time");
    }
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
    if (op.m_fd >= 0 && static_cast<std::size_t>(op.m_fd) < m_fds.size()) {
        fd_slot& slot = m_fds[static_cast<std::size_t>(op.m_fd)];
        io_op*& place = slot.reader == &op ? slot.reader : slot.writer;
        if (place == &op) {
            place = nullptr;
            --m_pending;
            if (!slot.attached) {
                try {
                    update(op.m_fd, slot);
                } catch (...) {
                }
            }
        }
    }
    op.m_state = io_op::lifecycle::idle;
    return io_cancel_result::unlinked; // interest only: nothing is held
}

auto epoll_backend::slot_of(int fd) -> fd_slot& {
    if (fd < 0) {
        detail::throw_usage("an fd operation needs an open fd (this one is negative)");
    }
    const auto i = static_cast<std::size_t>(fd);
    if (i >= m_fds.size()) {
        m_fds.resize(std::max(i + 1, m_fds.size() * 2));
    }
    return m_fds[i];
}

void epoll_backend::attach(int fd) {
    fd_slot& slot = slot_of(fd);
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
    if (fd < 0 || static_cast<std::size_t>(fd) >= m_fds.size()) {
        return;
    }
    fd_slot& slot = m_fds[static_cast<std::size_t>(fd)];
    if (!slot.attached) {
        return;
    }
    // No EPOLL_CTL_DEL: the owner closes the fd next, and closing drops it from every epoll
    // set, which saves a system call per connection. Only a second reference to the same open
    // file (a dup() of the fd, a forked child that has not exec'd yet: coven's fds are
    // CLOEXEC) keeps it registered; its edges then arrive under the old number and read as
    // readiness of whatever fd has that number next: a call that finds EAGAIN, nothing worse.
    slot = fd_slot{};
}

} // namespace coven::detail
