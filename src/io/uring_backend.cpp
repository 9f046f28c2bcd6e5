#include "io/uring_backend.hpp"

#include <coven/error.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace coven::detail {
namespace {

// user_data: a tag in the top two bits; a poll request also carries its generation and fd.
constexpr std::uint64_t tag_poll = 1;
constexpr std::uint64_t tag_wake = 2;
constexpr std::uint64_t tag_remove = 3;
constexpr std::uint32_t generation_mask = (1U << 30) - 1;

auto poll_data(int fd, std::uint32_t generation) noexcept -> std::uint64_t {
    return (tag_poll << 62) | (std::uint64_t{generation & generation_mask} << 32) |
           static_cast<std::uint32_t>(fd);
}

constexpr std::uint32_t read_events = POLLIN | POLLPRI | POLLRDHUP;

// testing::fail_io_uring_setup(): the errno every io_uring_setup() fails with (0: none).
std::atomic<int> g_setup_failure{0};

auto sys_setup(unsigned entries, io_uring_params* p) -> int {
    if (const int err = g_setup_failure.load(std::memory_order_relaxed); err != 0) {
        errno = err;
        return -1;
    }
    return static_cast<int>(::syscall(__NR_io_uring_setup, entries, p));
}

auto sys_enter(int ring, unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg,
               std::size_t size) -> int {
    return static_cast<int>(
        ::syscall(__NR_io_uring_enter, ring, to_submit, min_complete, flags, arg, size));
}

[[noreturn]] void throw_errno(const std::string& what, int err) {
    throw error("coven: " + what + ": " + std::strerror(err));
}

/// Why io_uring_setup failed, in words a user can act on.
auto setup_failure(int err) -> std::string {
    switch (err) {
    case ENOSYS:
        return "io_uring_setup: this kernel has no io_uring (ENOSYS)";
    case EPERM:
        return "io_uring_setup: io_uring is forbidden here (EPERM: a seccomp profile, or the "
               "sysctl kernel.io_uring_disabled)";
    case ENOMEM:
        return "io_uring_setup: no memory for a ring (ENOMEM: raise RLIMIT_MEMLOCK, ulimit -l)";
    default:
        return std::string("io_uring_setup: ") + std::strerror(err);
    }
}

template <class T>
auto at(void* base, std::uint32_t offset) -> T* {
    return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

auto load_acquire(const unsigned* p) noexcept -> unsigned {
    return std::atomic_ref<const unsigned>(*p).load(std::memory_order_acquire);
}

void store_release(unsigned* p, unsigned v) noexcept {
    std::atomic_ref<unsigned>(*p).store(v, std::memory_order_release);
}

} // namespace

uring_backend::uring_backend() {
    // What this engine needs of the kernel: EXT_ARG (a wait with a timeout in the same call),
    // NODROP (completions are never lost to a full ring), SINGLE_MMAP, and multishot poll
    // (5.13); the flags tried first are newer and optional.
    io_uring_params p{};
    int err = 0;
    for (unsigned entries : {256U, 64U, 16U}) { // ENOMEM: a smaller ring may fit the limit
        for (unsigned flags : {IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
                                   IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
                               unsigned{IORING_SETUP_CLAMP}}) {
            p = io_uring_params{};
            p.flags = flags;
            m_ring = sys_setup(entries, &p);
            if (m_ring >= 0) {
                break;
            }
            err = errno;
            if (err != EINVAL) {
                break;
            }
        }
        if (m_ring >= 0 || err != ENOMEM) {
            break;
        }
    }
    if (m_ring < 0) {
        throw error("coven: " + setup_failure(err));
    }
    const std::uint32_t needed = IORING_FEAT_EXT_ARG | IORING_FEAT_NODROP | IORING_FEAT_SINGLE_MMAP;
    if ((p.features & needed) != needed) {
        ::close(m_ring);
        throw error("coven: io_uring here lacks what coven needs (EXT_ARG, NODROP, SINGLE_MMAP: "
                    "Linux 5.11 or later)");
    }
    m_sq_map_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    m_cq_map_size = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    m_sq_map_size = std::max(m_sq_map_size, m_cq_map_size);
    m_sq_map = ::mmap(nullptr, m_sq_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                      m_ring, IORING_OFF_SQ_RING);
    m_sqes_size = p.sq_entries * sizeof(io_uring_sqe);
    m_sqes = static_cast<io_uring_sqe*>(::mmap(nullptr, m_sqes_size, PROT_READ | PROT_WRITE,
                                               MAP_SHARED | MAP_POPULATE, m_ring, IORING_OFF_SQES));
    m_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_sq_map == MAP_FAILED || m_sqes == MAP_FAILED || m_event < 0) {
        err = errno;
        if (m_sq_map != MAP_FAILED) {
            ::munmap(m_sq_map, m_sq_map_size);
        }
        if (m_sqes != MAP_FAILED) {
            ::munmap(m_sqes, m_sqes_size);
        }
        if (m_event >= 0) {
            ::close(m_event);
        }
        ::close(m_ring);
        throw_errno("mapping the io_uring rings failed", err);
    }
    m_cq_map = m_sq_map;
    m_sq_head = at<unsigned>(m_sq_map, p.sq_off.head);
    m_sq_tail = at<unsigned>(m_sq_map, p.sq_off.tail);
    m_sq_flags = at<unsigned>(m_sq_map, p.sq_off.flags);
    m_sq_array = at<unsigned>(m_sq_map, p.sq_off.array);
    m_sq_mask = *at<unsigned>(m_sq_map, p.sq_off.ring_mask);
    m_sq_entries = *at<unsigned>(m_sq_map, p.sq_off.ring_entries);
    m_cq_head = at<unsigned>(m_cq_map, p.cq_off.head);
    m_cq_tail = at<unsigned>(m_cq_map, p.cq_off.tail);
    m_cq_mask = *at<unsigned>(m_cq_map, p.cq_off.ring_mask);
    m_cqes = at<io_uring_cqe>(m_cq_map, p.cq_off.cqes);
    for (unsigned i = 0; i < m_sq_entries; ++i) {
        m_sq_array[i] = i; // entry i of the queue is always SQE i
    }
    arm_wake();
}

uring_backend::~uring_backend() {
    // Closing the ring cancels every request in it and lets go of the files they hold.
    ::munmap(m_sqes, m_sqes_size);
    ::munmap(m_sq_map, m_sq_map_size);
    ::close(m_ring);
    ::close(m_event);
}

auto uring_backend::next_sqe() -> io_uring_sqe* {
    const unsigned tail = *m_sq_tail;
    if (tail - load_acquire(m_sq_head) >= m_sq_entries) {
        enter(0, 0); // full: send what is queued (the kernel takes them at once)
        if (tail - load_acquire(m_sq_head) >= m_sq_entries) {
            throw error("coven: the io_uring submission queue stays full");
        }
    }
    io_uring_sqe* sqe = &m_sqes[tail & m_sq_mask];
    std::memset(sqe, 0, sizeof *sqe);
    return sqe;
}

void uring_backend::push() noexcept {
    store_release(m_sq_tail, *m_sq_tail + 1);
    ++m_queued;
}

void uring_backend::arm(int fd, fd_slot& slot, std::uint32_t events, bool multishot) {
    io_uring_sqe* sqe = next_sqe();
    m_generation = (m_generation + 1) & generation_mask;
    if (m_generation == 0) {
        m_generation = 1; // 0 means "none armed"
    }
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = events;
    sqe->len = multishot ? IORING_POLL_ADD_MULTI : 0; // multishot: a completion per wake-up
    sqe->user_data = poll_data(fd, m_generation);
    push();
    slot.armed = m_generation;
    slot.armed_events = events;
}

void uring_backend::disarm(int fd, fd_slot& slot) {
    if (slot.armed == 0) {
        return;
    }
    io_uring_sqe* sqe = next_sqe();
    sqe->opcode = IORING_OP_POLL_REMOVE;
    sqe->fd = -1;
    sqe->addr = poll_data(fd, slot.armed);
    sqe->user_data = tag_remove << 62;
    push();
    slot.armed = 0; // its last completion, if any, is now stale
    slot.armed_events = 0;
}

void uring_backend::arm_wake() {
    io_uring_sqe* sqe = next_sqe();
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = m_event;
    sqe->poll32_events = POLLIN;
    sqe->len = IORING_POLL_ADD_MULTI;
    sqe->user_data = tag_wake << 62;
    push();
}

auto uring_backend::enter(unsigned min_complete, std::int64_t timeout_ns) -> bool {
    __kernel_timespec ts{};
    io_uring_getevents_arg arg{};
    arg.sigmask_sz = _NSIG / 8;
    if (min_complete > 0 && timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1'000'000'000;
        ts.tv_nsec = timeout_ns % 1'000'000'000;
        arg.ts = reinterpret_cast<std::uint64_t>(&ts);
    }
    for (;;) {
        const int r = sys_enter(m_ring, m_queued, min_complete,
                                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
        // What the kernel took is gone from the queue, whatever the wait's outcome.
        m_queued = *m_sq_tail - load_acquire(m_sq_head);
        if (r >= 0) {
            return true;
        }
        const int err = errno;
        if (err == ETIME || err == EINTR) {
            return false;
        }
        if (err == EBUSY || err == EAGAIN) {
            // Completions the ring could not hold wait in the kernel (NODROP): make room.
            reap();
            continue;
        }
        throw_errno("io_uring_enter failed", err);
    }
}

void uring_backend::wait(std::int64_t timeout_ns) {
    // One system call: the queued requests go in, and it waits unless completions are ready.
    const bool ready = load_acquire(m_cq_tail) != *m_cq_head;
    enter(ready || timeout_ns == 0 ? 0 : 1, timeout_ns);
    reap();
    if ((load_acquire(m_sq_flags) & IORING_SQ_CQ_OVERFLOW) != 0) {
        enter(0, 0); // flush what overflowed into the ring
        reap();
    }
}

void uring_backend::reap() {
    unsigned head = *m_cq_head;
    for (;;) {
        const unsigned tail = load_acquire(m_cq_tail);
        if (head == tail) {
            break;
        }
        const io_uring_cqe cqe = m_cqes[head & m_cq_mask];
        store_release(m_cq_head, ++head); // free the entry before its completion runs
        complete_poll(cqe.user_data, cqe.res, cqe.flags);
    }
}

void uring_backend::complete_poll(std::uint64_t user_data, std::int32_t res, std::uint32_t flags) {
    const std::uint64_t tag = user_data >> 62;
    if (tag == tag_wake) {
        std::uint64_t value = 0;
        [[maybe_unused]] auto r = ::read(m_event, &value, sizeof value);
        if ((flags & IORING_CQE_F_MORE) == 0) {
            arm_wake(); // the multishot request ended (the kernel may end one): ask again
        }
        return;
    }
    if (tag != tag_poll) {
        return; // a removal's own completion
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(user_data));
    const auto generation = static_cast<std::uint32_t>(user_data >> 32) & generation_mask;
    fd_slot* found = m_fds.find(fd);
    if (found == nullptr) {
        return;
    }
    fd_slot& slot = *found;
    if (slot.armed != generation) {
        return; // a request given up since (removed, or re-armed for other events)
    }
    // A failed request (the fd is gone) wakes the waiters: their own call reports the error.
    const std::uint32_t ev = res < 0 ? POLLERR : static_cast<std::uint32_t>(res);
    const bool still_armed = slot.attached && res >= 0 && (flags & IORING_CQE_F_MORE) != 0;
    if (!still_armed) {
        slot.armed = 0;
        slot.armed_events = 0;
    }
    const auto [reader, writer] = slot.take_woken(ev);
    m_pending -= (reader != nullptr ? 1 : 0) + (writer != nullptr ? 1 : 0);
    bool rearmed = true;
    try {
        if (slot.attached && slot.armed == 0) {
            arm(fd, slot, read_events | POLLOUT, true);
        } else if (!slot.attached && slot.wanted() != 0) {
            arm(fd, slot, slot.wanted(), false);
        }
    } catch (...) {
        rearmed = false;
    }
    if (!rearmed) {
        // The queue stays full: the waiters left are woken too; their calls try again, and
        // they wait anew (or report the failure) through start().
        io_op* other_reader = std::exchange(slot.reader, nullptr);
        io_op* other_writer = std::exchange(slot.writer, nullptr);
        m_pending -= (other_reader != nullptr ? 1 : 0) + (other_writer != nullptr ? 1 : 0);
        if (other_reader != nullptr) {
            complete_ready(other_reader, POLLERR);
        }
        if (other_writer != nullptr) {
            complete_ready(other_writer, POLLERR);
        }
    }
    if (reader != nullptr) {
        complete_ready(reader, ev);
    }
    if (writer != nullptr) {
        complete_ready(writer, ev);
    }
}

void uring_backend::start(io_op& op) {
    fd_slot& slot = m_fds.at(op.m_fd);
    io_op*& place = slot.place_of(op);
    if (!slot.attached) {
        const std::uint32_t wanted = op.m_events | slot.wanted();
        if (slot.armed == 0 || (slot.armed_events & wanted) != wanted) {
            disarm(op.m_fd, slot);
            arm(op.m_fd, slot, wanted, false); // may throw: nothing is recorded yet
        }
    }
    place = &op;
    op.m_state = io_op::lifecycle::submitted;
    ++m_pending;
}

auto uring_backend::cancel(io_op& op) noexcept -> io_cancel_result {
    fd_slot* slot = m_fds.find(op.m_fd);
    if (slot != nullptr && slot->unlink(op)) {
        --m_pending;
        if (!slot->attached && slot->wanted() == 0) {
            try {
                disarm(op.m_fd, *slot);
            } catch (...) {
                slot->armed = 0; // (its late completion finds no waiter)
            }
        }
    }
    op.m_state = io_op::lifecycle::idle;
    return io_cancel_result::unlinked; // the poll request watches the fd, not the awaiter
}

void uring_backend::attach(int fd) {
    fd_slot& slot = m_fds.at(fd);
    if (slot.attached || slot.armed != 0) {
        detail::throw_usage("this fd is registered with the loop already: one coven object per "
                            "fd (an async_fd, a socket) at a time");
    }
    // Unlike epoll_ctl, the request is only queued: an fd that cannot be watched (closed)
    // shows in its completion, which wakes the waiters, whose own calls then fail.
    arm(fd, slot, read_events | POLLOUT, true);
    slot.attached = true;
    slot.ready = ready_to_read | ready_to_write; // unknown: the first calls try
}

void uring_backend::detach(int fd) noexcept {
    fd_slot* slot = m_fds.find(fd);
    if (slot == nullptr || !slot->attached) {
        return;
    }
    // The request holds the file open: the removal goes with the next enter, and the close
    // takes effect then.
    try {
        disarm(fd, *slot);
    } catch (...) {
    }
    *slot = fd_slot{};
}

void uring_backend::wake() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(m_event, &one, sizeof one);
}

void fail_io_uring_setup(int err) noexcept {
    g_setup_failure.store(err, std::memory_order_relaxed);
}

auto probe_io_uring() -> std::string {
    try {
        uring_backend probe;
    } catch (const error& e) {
        return e.what();
    }
    return {};
}

} // namespace coven::detail
