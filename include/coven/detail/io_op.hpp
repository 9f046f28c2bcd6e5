#pragma once
// An I/O operation as the loop's I/O engine sees it (src/io/backend.hpp): a node that its awaiter
// owns, started on the loop's engine, completed by it once, or given up.
//
// Lifecycle (Tokio's driver/op.rs has the same four states, for the same reason):
//
//   idle --start_io()--> submitted --the engine--> completed (m_complete runs once)
//                            |
//                            +--cancel_io()--> idle        (the engine dropped it: unlinked)
//                            +--cancel_io()--> cancelling  (the engine still holds what the
//                                                           operation uses, a buffer, until its
//                                                           completion arrives; m_complete then
//                                                           runs with m_cancelled set)
//
// A readiness engine (epoll) never needs `cancelling`: it holds only interest in an fd. A
// completion engine (io_uring) owns the buffer from submission to completion, so an awaiter that
// is cancelled, or a frame that loop stop destroys, must hand the operation to the engine until
// the completion comes. io_cancel_result says which of the two happened.

#include <cstdint>

namespace coven::detail {

struct io_op;

/// What cancel_io() did with an operation that had been started.
enum class io_cancel_result : std::uint8_t {
    /// The engine let go of it: it will not complete, and its owner may go.
    unlinked,
    /// The engine still holds what it uses; it completes later (with m_cancelled set), and its
    /// owner must keep it alive until then.
    stays_parked,
};

/// Readiness an engine remembers for an attached fd (io_backend::attach): set when it reports
/// the fd ready, cleared by the fd's owner when a call finds it not ready (EAGAIN, or a short
/// read or write on a stream). A clear bit lets an operation wait at once, without a system
/// call that would only say EAGAIN.
enum readiness_bit : std::uint8_t {
    ready_to_read = 1,
    ready_to_write = 2,
    /// Sticky: the peer closed its side, or the fd has an error or hung up. A short read does
    /// not clear it (the end of stream may sit behind the last bytes), so reads go on trying.
    read_closed = 4,
    /// Sticky: the fd has an error or hung up; writes go on trying (and fail).
    write_closed = 8,
};

struct io_op {
    enum class kind : std::uint8_t {
        /// Readiness: completes once `m_fd` has one of `m_events` (POLLIN, POLLOUT; POLLERR and
        /// POLLHUP always count). m_result holds the events seen.
        poll,
    };
    enum class lifecycle : std::uint8_t { idle, submitted, cancelling, completed };

    kind m_kind = kind::poll;
    lifecycle m_state = lifecycle::idle;
    bool m_cancelled = false; // completed after cancel_io() said stays_parked
    int m_fd = -1;
    std::uint32_t m_events = 0;
    /// The outcome: for poll, the events seen; for a transfer, bytes, or -errno.
    std::int64_t m_result = 0;
    /// Runs on the loop's thread, once, when the operation completes (never after cancel_io()
    /// returned unlinked).
    void (*m_complete)(io_op* op) noexcept = nullptr;
    /// The engine's own link (it may keep the operation in a table or a list).
    io_op* m_engine_next = nullptr;
};

} // namespace coven::detail
