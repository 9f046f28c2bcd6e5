// The tcp_echo workload written by hand on io_uring, as cheaply as one thread can: the floor of
// coven's io_uring engine, as the peer rig's `floors` binary holds the hand-written epoll one
// (../shared/peers/floors/floors.cpp, tcp_echo_epoll_1thread_64conns_roundtrip). Same shape: 64
// client/server pairs on 127.0.0.1 with TCP_NODELAY, each client sends 64 bytes and reads the
// 64-byte echo N/64 times; the servers read up to 4 KiB and send back what they read. Every
// send and recv is a ring operation; one io_uring_enter per turn submits what the completions
// of the previous turn queued and waits for at least one more. Raw system calls, no liburing;
// SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them (one thread here).
//
//   uring_floor tcp_echo N      prints the rig's result line (peer=uring_floor)
#include <linux/io_uring.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "uring_floor: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

constexpr int conns = 64;
constexpr std::size_t msg_size = 64;

struct ring {
    int fd = -1;
    unsigned* sq_tail = nullptr;
    unsigned* sq_head = nullptr;
    unsigned sq_mask = 0;
    unsigned sq_entries = 0;
    io_uring_sqe* sqes = nullptr;
    unsigned* cq_head = nullptr;
    unsigned* cq_tail = nullptr;
    unsigned cq_mask = 0;
    io_uring_cqe* cqes = nullptr;
    unsigned queued = 0;

    ring() {
        io_uring_params p{};
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CLAMP;
        fd = static_cast<int>(::syscall(__NR_io_uring_setup, 512, &p));
        if (fd < 0) {
            p = io_uring_params{};
            p.flags = IORING_SETUP_CLAMP;
            fd = static_cast<int>(::syscall(__NR_io_uring_setup, 512, &p));
        }
        if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
            std::fprintf(stderr, "uring_floor: no io_uring here (%s)\n", std::strerror(errno));
            std::exit(77); // what the smoke test counts as skipped
        }
        if (fd < 0) {
            die("io_uring_setup");
        }
        const std::size_t size = std::max(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                          p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
        auto* base = static_cast<char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                                               MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING));
        sqes = static_cast<io_uring_sqe*>(::mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe),
                                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                                                 fd, IORING_OFF_SQES));
        if (base == MAP_FAILED || sqes == MAP_FAILED) {
            die("mmap");
        }
        sq_head = reinterpret_cast<unsigned*>(base + p.sq_off.head);
        sq_tail = reinterpret_cast<unsigned*>(base + p.sq_off.tail);
        sq_mask = *reinterpret_cast<unsigned*>(base + p.sq_off.ring_mask);
        sq_entries = p.sq_entries;
        auto* array = reinterpret_cast<unsigned*>(base + p.sq_off.array);
        for (unsigned i = 0; i < p.sq_entries; ++i) {
            array[i] = i;
        }
        cq_head = reinterpret_cast<unsigned*>(base + p.cq_off.head);
        cq_tail = reinterpret_cast<unsigned*>(base + p.cq_off.tail);
        cq_mask = *reinterpret_cast<unsigned*>(base + p.cq_off.ring_mask);
        cqes = reinterpret_cast<io_uring_cqe*>(base + p.cq_off.cqes);
    }

    auto enter(unsigned wait_for) -> void {
        const int r = static_cast<int>(::syscall(__NR_io_uring_enter, fd, queued, wait_for,
                                                 IORING_ENTER_GETEVENTS, nullptr, 0));
        if (r < 0 && errno != EINTR && errno != ETIME) {
            die("io_uring_enter");
        }
        queued = *sq_tail - std::atomic_ref<unsigned>(*sq_head).load(std::memory_order_acquire);
    }

    void push(std::uint8_t op, int sock, void* buf, std::size_t len, std::uint64_t data) {
        if (*sq_tail - std::atomic_ref<unsigned>(*sq_head).load(std::memory_order_acquire) >=
            sq_entries) {
            enter(0);
        }
        io_uring_sqe* sqe = &sqes[*sq_tail & sq_mask];
        std::memset(sqe, 0, sizeof *sqe);
        sqe->opcode = op;
        sqe->fd = sock;
        sqe->addr = reinterpret_cast<std::uint64_t>(buf);
        sqe->len = static_cast<std::uint32_t>(len);
        sqe->user_data = data;
        std::atomic_ref<unsigned>(*sq_tail).store(*sq_tail + 1, std::memory_order_release);
        ++queued;
    }
};

// user_data: the connection's index and whether the operation is a send.
auto tag(int i, bool send) -> std::uint64_t {
    return static_cast<std::uint64_t>(i) << 1 | (send ? 1 : 0);
}

auto echo(std::uint64_t n) -> double {
    int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(ls, conns) != 0) {
        die("listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
    int fd[2 * conns]; // [0, 64): clients, [64, 128): server sides
    const int one = 1;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < conns; ++i) {
        fd[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            die("connect");
        }
        fd[conns + i] = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd[conns + i] < 0) {
            die("accept");
        }
        ::setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd[conns + i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ::close(ls);
    ring r;
    static char msg[msg_size];
    std::memset(msg, 7, sizeof msg);
    static char buf[2 * conns][4096];
    std::uint64_t left[conns];
    std::size_t got[conns] = {};
    int active = conns;
    const std::uint64_t per_conn = n / conns;
    for (int i = 0; i < conns; ++i) {
        left[i] = per_conn;
        r.push(IORING_OP_SEND, fd[i], msg, msg_size, tag(i, true));
        r.push(IORING_OP_RECV, fd[conns + i], buf[conns + i], 4096, tag(conns + i, false));
    }
    while (active > 0) {
        r.enter(1);
        unsigned head = *r.cq_head;
        const unsigned tail = std::atomic_ref<unsigned>(*r.cq_tail).load(std::memory_order_acquire);
        for (; head != tail; ++head) {
            const io_uring_cqe cqe = r.cqes[head & r.cq_mask];
            const int i = static_cast<int>(cqe.user_data >> 1);
            const bool send = (cqe.user_data & 1) != 0;
            if (cqe.res < 0) {
                errno = -cqe.res;
                die(send ? "send" : "recv");
            }
            const auto res = static_cast<std::size_t>(cqe.res);
            if (i >= conns) { // a server side: echo what arrived, then read again
                if (send) {
                    r.push(IORING_OP_RECV, fd[i], buf[i], 4096, tag(i, false));
                } else if (res > 0) {
                    r.push(IORING_OP_SEND, fd[i], buf[i], res, tag(i, true));
                }
            } else if (send) { // a client's message is out: read the echo
                got[i] = 0;
                r.push(IORING_OP_RECV, fd[i], buf[i], msg_size, tag(i, false));
            } else { // (a short read reads on)
                got[i] += res;
                if (res == 0) {
                    die("the server closed first");
                }
                if (got[i] < msg_size) {
                    r.push(IORING_OP_RECV, fd[i], buf[i] + got[i], msg_size - got[i],
                           tag(i, false));
                } else if (--left[i] > 0) {
                    r.push(IORING_OP_SEND, fd[i], msg, msg_size, tag(i, true));
                } else {
                    --active;
                }
            }
        }
        std::atomic_ref<unsigned>(*r.cq_head).store(head, std::memory_order_release);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int f : fd) {
        ::close(f); // (the servers' reads in flight end with the ring)
    }
    ::close(r.fd);
    return seconds;
}

} // namespace

auto main(int argc, char** argv) -> int {
    if (argc < 2 || std::string(argv[1]) != "tcp_echo") {
        std::fprintf(stderr, "usage: uring_floor tcp_echo [N]\n");
        return 2;
    }
    const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
    const std::uint64_t done = n / conns * conns;
    const double seconds = echo(n);
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    std::printf("workload=tcp_echo n=%llu ns_per_op=%.2f total_s=%.4f peak_rss_kb=%ld "
                "peer=uring_floor rt_per_s=%.0f\n",
                static_cast<unsigned long long>(n), seconds * 1e9 / static_cast<double>(done),
                seconds, ru.ru_maxrss, static_cast<double>(done) / seconds);
    return 0;
}
