// The I/O seam (src/io/backend.hpp) through its first user, detail::fd_wait_awaiter: tasks wait
// for pipes and sockets to be ready on the loop's engine, are cancelled, dropped and destroyed
// at loop stop, and leave nothing registered.

#include <coven/detail/fd_wait.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace coven_test;
using coven::task;
namespace inspect = coven::testing::inspect;

namespace {

/// Two connected fds, closed with the test.
struct fd_pair {
    int a = -1;
    int b = -1;
    explicit fd_pair(bool socket) {
        int fds[2];
        const int r = socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                             : ::pipe2(fds, O_CLOEXEC | O_NONBLOCK);
        if (r == 0) {
            a = fds[0];
            b = fds[1];
        }
    }
    ~fd_pair() {
        ::close(a);
        ::close(b);
    }
    fd_pair(const fd_pair&) = delete;
    auto operator=(const fd_pair&) -> fd_pair& = delete;
};

auto wait_for(int fd, std::uint32_t events) -> task<std::uint32_t> {
    co_return co_await coven::detail::fd_wait_awaiter(fd, events);
}

void put_byte(int fd) {
    ASSERT_EQ(::write(fd, "x", 1), 1);
}

} // namespace

TEST(IoEngine, ALoopUsesEpollUnlessToldOtherwise) {
    const char* env = std::getenv("COVEN_IO");
    const std::string saved = env != nullptr ? env : "";
    ::unsetenv("COVEN_IO"); // (the suite may run with COVEN_IO=io_uring)
    {
        coven::event_loop loop(virtual_options());
        EXPECT_STREQ(inspect::io_engine_name(loop), "epoll");
    }
    if (env != nullptr) {
        ::setenv("COVEN_IO", saved.c_str(), 1);
    }
}

TEST(IoEngine, IoUringIsChosenByTheOptionsOrByCovenIoAndAutoFallsBackToEpoll) {
    bool has_io_uring = true;
    try {
        coven::event_loop loop(coven::loop_options{.clock = coven::clock_kind::virtual_time,
                                                   .io = coven::io_engine::io_uring});
        EXPECT_STREQ(inspect::io_engine_name(loop), "io_uring");
    } catch (const coven::error& e) {
        // Only a kernel or sandbox without io_uring may refuse, and it says why.
        has_io_uring = false;
        EXPECT_NE(std::string(e.what()).find("io_uring"), std::string::npos) << e.what();
    }
    ::setenv("COVEN_IO", "io_uring", 1);
    if (has_io_uring) {
        coven::event_loop loop(virtual_options());
        EXPECT_STREQ(inspect::io_engine_name(loop), "io_uring");
    }
    ::setenv("COVEN_IO", "auto", 1);
    {
        coven::event_loop loop(virtual_options());
        EXPECT_STREQ(inspect::io_engine_name(loop), has_io_uring ? "io_uring" : "epoll");
    }
    ::unsetenv("COVEN_IO");
}

TEST(IoEngine, CovenIoPicksTheEngineAndAnUnknownOneIsAUsageError) {
    ::setenv("COVEN_IO", "epoll", 1);
    {
        coven::event_loop loop(virtual_options());
        EXPECT_STREQ(inspect::io_engine_name(loop), "epoll");
    }
    ::setenv("COVEN_IO", "nonesuch", 1);
    try {
        coven::event_loop loop(virtual_options());
        ADD_FAILURE() << "COVEN_IO=nonesuch made a loop";
    } catch (const coven::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("COVEN_IO=nonesuch"), std::string::npos) << e.what();
    }
    // An engine named in the options does not read the environment.
    coven::event_loop loop(coven::loop_options{.clock = coven::clock_kind::virtual_time,
                                               .io = coven::io_engine::epoll});
    EXPECT_STREQ(inspect::io_engine_name(loop), "epoll");
    ::unsetenv("COVEN_IO");
}

TEST(IoEngine, EachWayIoUringIsRefusedFallsBackToEpollUnderAutoAndIsAnErrorWhenAskedFor) {
    // Forced through the setup seam: no io_uring in the kernel, one forbidden by seccomp or
    // sysctl, and a locked-memory limit too low for any ring size the engine tries.
    const struct {
        int err;
        const char* says;
    } refusals[] = {
        {ENOSYS, "ENOSYS"},
        {EPERM, "kernel.io_uring_disabled"},
        {ENOMEM, "RLIMIT_MEMLOCK"},
    };
    ::setenv("COVEN_IO", "auto", 1);
    for (const auto& refusal : refusals) {
        coven::testing::fail_io_uring_setup(refusal.err);
        {
            coven::event_loop loop(virtual_options());
            EXPECT_STREQ(loop.io_engine_name(), "epoll");
            EXPECT_NE(loop.io_fallback_reason().find(refusal.says), std::string::npos)
                << loop.io_fallback_reason();
        }
        try {
            coven::event_loop loop(coven::loop_options{.clock = coven::clock_kind::virtual_time,
                                                       .io = coven::io_engine::io_uring});
            ADD_FAILURE() << "io_uring was asked for, refused, and a loop was made anyway";
        } catch (const coven::error& e) {
            EXPECT_NE(std::string(e.what()).find(refusal.says), std::string::npos) << e.what();
        }
    }
    coven::testing::fail_io_uring_setup(0);
    ::unsetenv("COVEN_IO");
    coven::event_loop plain(virtual_options());
    EXPECT_STREQ(plain.io_engine_name(), "epoll");
    EXPECT_EQ(plain.io_fallback_reason(), "") << "epoll by default is not a fallback";
}

TEST(IoEngine, ATaskWaitsUntilAPipeIsReadable) {
    coven::event_loop loop(virtual_options());
    fd_pair p(false);
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(wait_for(p.a, POLLIN));
        co_await coven::skip_poll_cycle(); // it has parked on the engine
        EXPECT_FALSE(f.done());
        EXPECT_EQ(inspect::pending_io(loop), 1u);
        put_byte(p.b);
        const std::uint32_t seen = co_await f;
        EXPECT_NE(seen & POLLIN, 0u);
        EXPECT_EQ(inspect::pending_io(loop), 0u);
    };
    loop.run_until_complete(main());
}

// The loop sleeps in the engine with nothing else to do; a write from another thread is what
// wakes it (not the cross-thread queue's eventfd).
TEST(IoEngine, AWriteFromAnotherThreadWakesALoopAsleepInTheEngine) {
    coven::event_loop loop; // (a real clock: nothing to jump to)
    fd_pair p(false);
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        put_byte(p.b);
    });
    EXPECT_NE(loop.run_until_complete(wait_for(p.a, POLLIN)) & POLLIN, 0u);
    writer.join();
}

TEST(IoEngine, ACancelledWaiterLeavesItsFdAndTheFdCanBeWaitedOnAgain) {
    coven::event_loop loop(virtual_options());
    fd_pair p(false);
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(wait_for(p.a, POLLIN));
        co_await coven::skip_poll_cycle();
        f.cancel();
        EXPECT_THROW(co_await f, coven::cancelled_error);
        EXPECT_EQ(inspect::pending_io(loop), 0u);
        auto g = loop.create_task(wait_for(p.a, POLLIN)); // the registration was removed
        co_await coven::skip_poll_cycle();
        put_byte(p.b);
        EXPECT_NE(co_await g & POLLIN, 0u);
    };
    loop.run_until_complete(main());
}

TEST(IoEngine, OneReaderPerFdAtATimeButAReaderAndAWriterShareOne) {
    coven::event_loop loop(virtual_options());
    fd_pair s(true);
    auto main = [&]() -> task<void> {
        auto reader = loop.create_task(wait_for(s.a, POLLIN));
        co_await coven::skip_poll_cycle();
        try {
            co_await wait_for(s.a, POLLIN);
            ADD_FAILURE() << "a second reader of one fd was accepted";
        } catch (const coven::usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("one reader per fd"), std::string::npos);
        }
        // A writer on the same fd: a socket with room is writable at once; the reader waits on.
        EXPECT_NE(co_await wait_for(s.a, POLLOUT) & POLLOUT, 0u);
        EXPECT_FALSE(reader.done());
        EXPECT_EQ(inspect::pending_io(loop), 1u);
        put_byte(s.b);
        EXPECT_NE(co_await reader & POLLIN, 0u);
    };
    loop.run_until_complete(main());
}

TEST(IoEngine, TheEngineRefusesAnFdItCannotWatch) {
    coven::event_loop loop(virtual_options());
    auto main = [&]() -> task<void> {
        EXPECT_THROW(co_await wait_for(-1, POLLIN), coven::error);
        EXPECT_THROW(co_await wait_for(0, POLLIN | POLLOUT), coven::usage_error); // both at once
        EXPECT_EQ(inspect::pending_io(loop), 0u);
    };
    loop.run_until_complete(main());
}

TEST(IoEngine, AbortDropsAnFdWaiterAndItsRegistration) {
    coven::event_loop loop(virtual_options());
    fd_pair p(false);
    auto main = [&]() -> task<void> {
        auto f = loop.create_task(wait_for(p.a, POLLIN));
        co_await coven::skip_poll_cycle();
        EXPECT_TRUE(f.abort());
        co_await f.wait();
        EXPECT_TRUE(f.cancelled());
        EXPECT_EQ(inspect::pending_io(loop), 0u);
    };
    loop.run_until_complete(main());
}

// A waiter that ignores its cancellation is destroyed at loop stop; its awaiter gives its
// operation up as the frame goes.
TEST(IoEngine, LoopStopDestroysAStuckFdWaiterAndUnregistersIt) {
    coven::event_loop loop(virtual_options());
    fd_pair p(false);
    auto stubborn = [](int fd) -> task<void> {
        for (;;) {
            try {
                co_await coven::detail::fd_wait_awaiter(fd, POLLIN);
            } catch (const coven::cancelled_error&) {
            }
        }
    };
    loop.run_until_complete([](coven::event_loop& loop, int fd, auto stubborn) -> task<void> {
        (void)loop.create_task(stubborn(fd));
        co_await coven::skip_poll_cycle();
        co_await coven::skip_poll_cycle();
    }(loop, p.a, stubborn));
    EXPECT_EQ(inspect::pending_io(loop), 1u);
    loop.stop();
    EXPECT_EQ(inspect::pending_io(loop), 0u);
    EXPECT_EQ(loop.statistics().live_tasks, 0u);
}
