#pragma once
// What the readiness engines (epoll, io_uring's first stage) keep per fd: the operation waiting
// to read and the one waiting to write (Trio's rule: two tasks reading one fd at once is a bug in
// the caller, not a queue to keep), whether the fd is attached, and its readiness_bits; in a table
// indexed by the fd, since fds are small integers and a lookup is then an index.

#include <coven/detail/io_op.hpp>
#include <coven/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <poll.h>
#include <utility>
#include <vector>

namespace coven::detail {

/// The part of an fd's slot that both engines share; each adds its own registration state.
struct fd_waiters {
    io_op* reader = nullptr;
    io_op* writer = nullptr;
    /// Registered once for reading and writing (io_backend::attach): operations on it change
    /// nothing in the engine's registration.
    bool attached = false;
    std::uint8_t ready = 0; // readiness_bit: what the last reports said, not yet used up

    /// The events the waiters want (poll(2) bits).
    [[nodiscard]] auto wanted() const noexcept -> std::uint32_t {
        return (reader != nullptr ? reader->m_events : 0) |
               (writer != nullptr ? writer->m_events : 0);
    }

    /// Where `op` waits: the reader's or the writer's place, checked free.
    /// **Throws:** usage_error for an operation that waits for both or neither, or for a second
    /// reader (writer) of the fd.
    auto place_of(const io_op& op) -> io_op*& {
        const bool reads = (op.m_events & (POLLIN | POLLPRI | POLLRDHUP)) != 0;
        const bool writes = (op.m_events & POLLOUT) != 0;
        if (reads == writes) {
            throw_usage("an fd operation waits for reading or for writing, one of the two; "
                        "start one of each to wait for both");
        }
        io_op*& place = reads ? reader : writer;
        if (place != nullptr) {
            throw_usage(reads ? "another task already waits for this fd to be readable; one "
                                "reader per fd at a time"
                              : "another task already waits for this fd to be writable; one "
                                "writer per fd at a time");
        }
        return place;
    }

    /// Takes `op` out; false if it was not waiting here.
    auto unlink(const io_op& op) noexcept -> bool {
        io_op*& place = reader == &op ? reader : writer;
        if (place != &op) {
            return false;
        }
        place = nullptr;
        return true;
    }

    /// The engine reports `events` (poll(2) bits): an attached fd remembers them as readiness,
    /// and the waiters they concern are taken out, before any completion runs (a completion may
    /// start the next operation on the fd, or cancel the other one). On an attached fd, events
    /// nobody waits for live on in the readiness bits, which the owner's next call reads.
    auto take_woken(std::uint32_t events) noexcept -> std::pair<io_op*, io_op*> {
        constexpr std::uint32_t reads = POLLIN | POLLPRI | POLLRDHUP;
        constexpr std::uint32_t ends = POLLERR | POLLHUP;
        if (attached) {
            ready |=
                static_cast<std::uint8_t>(((events & (reads | ends)) != 0 ? ready_to_read : 0) |
                                          ((events & (POLLOUT | ends)) != 0 ? ready_to_write : 0) |
                                          ((events & (POLLRDHUP | ends)) != 0 ? read_closed : 0) |
                                          ((events & ends) != 0 ? write_closed : 0));
        }
        return {(events & (reads | ends)) != 0 ? std::exchange(reader, nullptr) : nullptr,
                (events & (POLLOUT | ends)) != 0 ? std::exchange(writer, nullptr) : nullptr};
    }
};

/// Completes a readiness operation with the events seen.
inline void complete_ready(io_op* op, std::int64_t events) noexcept {
    op->m_state = io_op::lifecycle::completed;
    op->m_result = events;
    op->m_complete(op);
}

/// The slots by fd. `Slot` derives from fd_waiters.
template <class Slot>
class fd_table {
public:
    /// The slot of `fd`, the table grown to hold it. **Throws:** usage_error for a negative fd,
    /// std::bad_alloc.
    auto at(int fd) -> Slot& {
        if (fd < 0) {
            throw_usage("an fd operation needs an open fd (this one is negative)");
        }
        const auto i = static_cast<std::size_t>(fd);
        if (i >= m_slots.size()) {
            m_slots.resize(std::max(i + 1, m_slots.size() * 2));
        }
        return m_slots[i];
    }
    /// The slot of `fd` if the table holds one (null past its end: nothing waits there).
    auto find(int fd) noexcept -> Slot* {
        return fd >= 0 && static_cast<std::size_t>(fd) < m_slots.size()
                   ? &m_slots[static_cast<std::size_t>(fd)]
                   : nullptr;
    }
    [[nodiscard]] auto readiness(int fd) const noexcept -> std::uint8_t {
        return fd >= 0 && static_cast<std::size_t>(fd) < m_slots.size()
                   ? m_slots[static_cast<std::size_t>(fd)].ready
                   : std::uint8_t{0};
    }
    void clear_readiness(int fd, std::uint8_t bits) noexcept {
        if (Slot* s = find(fd)) {
            s->ready &= static_cast<std::uint8_t>(~bits);
        }
    }

private:
    std::vector<Slot> m_slots;
};

} // namespace coven::detail
