// signal_set and run_until_signal() (include/coven/signal_set.hpp).

#include <coven/error.hpp>
#include <coven/signal_set.hpp>
#include <coven/task_scope.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <system_error>
#include <unistd.h>

namespace coven {
namespace {

// The handler's table: the write ends of the sets' pipes, with the signals each wants as a
// bit mask. Slots are claimed under the mutex and read by the handler without it (atomics only:
// a handler may take no lock).
constexpr int max_sets = 64;
struct slot {
    std::atomic<int> fd{-1};
    std::atomic<std::uint64_t> mask{0};
};
std::array<slot, max_sets> g_slots;
std::mutex g_mutex;
std::array<int, 65> g_users{};                 // sets per signal
std::array<struct sigaction, 65> g_previous{}; // the disposition before the first set

void on_signal(int sig) {
    const int saved = errno;
    const auto bit = std::uint64_t{1} << (sig - 1);
    const auto byte = static_cast<unsigned char>(sig);
    for (auto& s : g_slots) {
        const int fd = s.fd.load(std::memory_order_acquire);
        if (fd >= 0 && (s.mask.load(std::memory_order_acquire) & bit) != 0) {
            [[maybe_unused]] auto r = ::write(fd, &byte, 1); // full pipe: the signal is dropped
        }
    }
    errno = saved;
}

void check(int sig) {
    if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP) {
        throw usage_error("coven: signal_set cannot catch signal " + std::to_string(sig) +
                          (sig == SIGKILL || sig == SIGSTOP ? " (SIGKILL and SIGSTOP cannot be "
                                                              "caught)"
                                                            : " (not a signal number)"));
    }
}

struct read_byte {
    unsigned char* out;
    auto operator()(int fd) const noexcept -> std::int64_t {
        const auto n = ::read(fd, out, 1);
        return n >= 0 ? n : -errno;
    }
};

} // namespace

signal_set::signal_set(std::initializer_list<int> signals)
    : signal_set(std::vector<int>(signals)) {}

signal_set::signal_set(const std::vector<int>& signals) : m_signals(signals) {
    std::uint64_t mask = 0;
    for (int sig : signals) {
        check(sig);
        mask |= std::uint64_t{1} << (sig - 1);
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        throw std::system_error(errno, std::generic_category(), "coven: signal_set: pipe2");
    }
    m_read = detail::owned_fd(fds[0]);
    m_write = fds[1];
    std::lock_guard lock(g_mutex);
    for (int i = 0; i < max_sets; ++i) {
        if (g_slots[static_cast<std::size_t>(i)].fd.load() < 0) {
            m_slot = i;
            break;
        }
    }
    if (m_slot < 0) {
        ::close(m_write);
        throw usage_error("coven: more than 64 signal_sets at once; share one");
    }
    auto& s = g_slots[static_cast<std::size_t>(m_slot)];
    s.mask.store(mask, std::memory_order_release);
    s.fd.store(m_write, std::memory_order_release);
    for (int sig : m_signals) {
        if (g_users[static_cast<std::size_t>(sig)]++ == 0) {
            struct sigaction sa {};
            sa.sa_handler = on_signal;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            ::sigaction(sig, &sa, &g_previous[static_cast<std::size_t>(sig)]);
        }
    }
}

signal_set::~signal_set() {
    {
        std::lock_guard lock(g_mutex);
        for (int sig : m_signals) {
            if (--g_users[static_cast<std::size_t>(sig)] == 0) {
                ::sigaction(sig, &g_previous[static_cast<std::size_t>(sig)], nullptr);
            }
        }
        auto& s = g_slots[static_cast<std::size_t>(m_slot)];
        s.fd.store(-1, std::memory_order_release);
        s.mask.store(0, std::memory_order_release);
    }
    ::close(m_write);
}

auto signal_set::next() -> task<int> {
    unsigned char sig = 0;
    const std::int64_t r =
        co_await detail::socket_op<read_byte>(m_read, 0, "signal_set::next()", read_byte{&sig});
    if (r <= 0) {
        throw std::system_error(r < 0 ? static_cast<int>(-r) : EIO, std::generic_category(),
                                "coven: signal_set::next(): reading the signal pipe");
    }
    co_return static_cast<int>(sig);
}

auto run_until_signal(task<void> work, std::vector<int> signals) -> task<std::optional<int>> {
    signal_set set(signals);
    std::optional<int> caught;
    co_await with_scope({}, [&](task_scope& scope) -> task<void> {
        auto watch = [](signal_set& s, std::optional<int>& out, task_scope& sc) -> task<void> {
            out = co_await s.next();
            sc.cancel(); // the work unwinds; the scope then ends
        };
        scope.spawn(watch(set, caught, scope),
                    {.name = "run_until_signal watcher", .awaited = false});
        co_await std::move(work);
    });
    co_return caught;
}

} // namespace coven
