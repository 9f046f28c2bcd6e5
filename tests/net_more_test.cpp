// coven's I/O beyond streams (B4): datagrams, resolve(), buffered reads and writes, async_fd,
// signal_set and run_until_signal(), files. Socket tests run over each I/O engine.
#include <coven/net.hpp>

#include "net_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

using namespace coven_test;
using coven::task;
namespace net = coven::net;

namespace {

class NetIo : public ::testing::TestWithParam<coven::io_engine> {};

} // namespace

TEST_P(NetIo, UdpDatagramsArriveWholeWithTheirSender) {
    run_on(GetParam(), []() -> task<void> {
        auto server = net::datagram_socket::bind(net::address::loopback());
        const auto at = server.local_address();
        auto client = net::datagram_socket::connect(at);
        co_await client.send(bytes("first"));
        co_await client.send(bytes("second datagram"));
        std::vector<std::byte> buf(64);
        auto one = co_await server.recv_from(buf);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data()), one.size), "first");
        EXPECT_EQ(one.from, client.local_address());
        auto two = co_await server.recv_from(buf);
        EXPECT_EQ(two.size, 15U);
        co_await server.send_to(bytes("reply"), one.from);
        auto back = co_await client.recv(buf);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data()), back.size), "reply");
        // Cancel-safe: a cancelled receive takes no datagram.
        auto none = co_await coven::move_on_after(0.01, [&] { return server.recv_from(buf); });
        EXPECT_FALSE(none.has_value());
    });
}

TEST_P(NetIo, UnixDatagramSocketsTalkByPath) {
    run_on(GetParam(), []() -> task<void> {
        const auto at = net::address::unix_abstract("coven-dgram-" + std::to_string(::getpid()));
        auto server = net::datagram_socket::bind(at);
        auto client = net::datagram_socket::connect(at);
        co_await client.send(bytes("over unix"));
        std::vector<std::byte> buf(64);
        auto got = co_await server.recv_from(buf);
        EXPECT_EQ(got.size, 9U);
    });
}

TEST(NetResolve, NumericAndLocalNamesResolveAndABadServiceIsAResolveError) {
    coven::event_loop loop;
    loop.run_until_complete([]() -> task<void> {
        auto numeric = co_await net::resolve("127.0.0.1", "6379");
        EXPECT_EQ(numeric.size(), 1U);
        if (!numeric.empty()) {
            EXPECT_EQ(numeric.front().to_string(), "127.0.0.1:6379");
        }
        auto local = co_await net::resolve("localhost", "80");
        EXPECT_FALSE(local.empty());
        try {
            (void)co_await net::resolve("127.0.0.1", "no-such-service-coven");
            ADD_FAILURE() << "resolved";
        } catch (const net::resolve_error& e) {
            EXPECT_NE(std::string(e.what()).find("resolve 127.0.0.1:no-such-service-coven"),
                      std::string::npos)
                << e.what();
        }
    }());
}

TEST_P(NetIo, BufferedReaderSplitsLinesAndKeepsWhatACancelledReadTook) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair();
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        net::buffered_reader in(b);
        co_await a.write_all("one\r\ntwo\nthr");
        EXPECT_EQ(co_await in.read_line(), "one");
        EXPECT_EQ(co_await in.read_line(), "two");
        // "thr" has arrived; the rest has not: the cancelled read keeps it.
        auto cut = co_await coven::move_on_after(0.01, [&] { return in.read_line(); });
        EXPECT_FALSE(cut.has_value());
        EXPECT_EQ(in.buffered(), "thr");
        co_await a.write_all("ee\n12345");
        EXPECT_EQ(co_await in.read_line(), "three");
        EXPECT_EQ(co_await in.read_exact(3), "123");
        a.close();
        EXPECT_EQ(co_await in.read_some(), "45");
        EXPECT_EQ(co_await in.read_line(), std::nullopt); // end of stream, nothing buffered
    });
}

TEST_P(NetIo, ALineLongerThanItsLimitIsRefusedWithoutGrowingTheBuffer) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair();
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        net::buffered_reader in(b, 4096);
        co_await a.write_all(std::string(100000, 'x')); // no newline, ever
        EXPECT_THROW((void)co_await in.read_line(1000), net::limit_exceeded);
        EXPECT_LE(in.buffered().size(), 1000U + 4096U);
    });
}

TEST_P(NetIo, BufferedWriterGathersSmallWritesUntilFlush) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair();
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        net::buffered_writer out(a, 1024);
        for (int i = 0; i < 10; ++i) {
            co_await out.write("line " + std::to_string(i) + "\n");
        }
        EXPECT_GT(out.buffered(), 0U); // under the capacity: nothing sent yet
        co_await out.flush();
        EXPECT_EQ(out.buffered(), 0U);
        net::buffered_reader in(b);
        for (int i = 0; i < 10; ++i) {
            EXPECT_EQ(co_await in.read_line(), "line " + std::to_string(i));
        }
    });
}

TEST_P(NetIo, AsyncFdWaitsForAFdTheUserOwns) {
    run_on(GetParam(), []() -> task<void> {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
        net::async_fd r(fds[0]);
        auto none = co_await coven::move_on_after(0.01, [&] { return r.readable(); });
        EXPECT_FALSE(none.has_value()); // nothing to read yet; nothing left registered
        EXPECT_EQ(::write(fds[1], "z", 1), 1);
        const auto events = co_await r.readable();
        EXPECT_NE(events & POLLIN, 0U);
        char c = 0;
        EXPECT_EQ(::read(fds[0], &c, 1), 1);
        ::close(fds[0]);
        ::close(fds[1]);
    });
}

TEST(SignalSet, ASignalRaisedInTheProcessReachesNext) {
    coven::event_loop loop;
    loop.run_until_complete([]() -> task<void> {
        coven::signal_set set{SIGUSR1, SIGUSR2};
        ::raise(SIGUSR2);
        ::raise(SIGUSR1);
        EXPECT_EQ(co_await set.next(), SIGUSR2);
        EXPECT_EQ(co_await set.next(), SIGUSR1);
        auto none = co_await coven::move_on_after(0.01, [&] { return set.next(); });
        EXPECT_FALSE(none.has_value());
    }());
}

TEST(SignalSet, SigkillCannotBeCaught) {
    EXPECT_THROW(coven::signal_set({SIGKILL}), coven::usage_error);
    EXPECT_THROW(coven::signal_set({0}), coven::usage_error);
}

TEST(SignalSet, RunUntilSignalCancelsTheWorkAndLetsItCleanUp) {
    coven::event_loop loop;
    bool cleaned = false;
    auto serve = [](bool& flag) -> task<void> {
        struct on_exit {
            bool& f;
            ~on_exit() { f = true; }
        } guard{flag};
        co_await coven::sleep(60.0);
    };
    auto main = [&]() -> task<void> {
        auto killer = []() -> task<void> {
            co_await coven::sleep(0.02);
            ::kill(::getpid(), SIGUSR1);
        };
        auto k = coven::current_loop()->create_task(killer());
        auto sig = co_await coven::run_until_signal(serve(cleaned), SIGUSR1, SIGUSR2);
        EXPECT_EQ(sig, SIGUSR1);
        co_await k;
        auto done = co_await coven::run_until_signal(sleep_for(0.0), SIGUSR1);
        EXPECT_EQ(done, std::nullopt); // ended by itself
    };
    loop.run_until_complete(main());
    EXPECT_TRUE(cleaned);
}

TEST(File, WritesReadsSizesAndSyncsThroughThePool) {
    coven::event_loop loop;
    loop.run_until_complete([]() -> task<void> {
        const std::string path = "/tmp/coven-file-test-" + std::to_string(::getpid());
        {
            auto f = co_await coven::file::open(path, O_WRONLY | O_CREAT | O_TRUNC);
            co_await f.write_at(bytes("hello, "), 0);
            co_await f.write_at(bytes("world"), 7);
            co_await f.sync();
            EXPECT_EQ(co_await f.size(), 12U);
        }
        EXPECT_EQ(co_await coven::file::read_all(path), "hello, world");
        auto f = co_await coven::file::open(path, O_RDONLY);
        std::vector<std::byte> buf(5);
        EXPECT_EQ(co_await f.read_at(buf, 7), 5U);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data()), 5), "world");
        EXPECT_EQ(co_await f.read_at(buf, 100), 0U);
        ::unlink(path.c_str());
        try {
            (void)co_await coven::file::open(path, O_RDONLY);
            ADD_FAILURE() << "opened a removed file";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), ENOENT);
            EXPECT_NE(std::string(e.what()).find("open " + path), std::string::npos);
        }
    }());
}

TEST_P(NetIo, ServeRunsConnectionsConcurrentlyAndAHandlersErrorEndsOnlyItsConnection) {
    run_on(GetParam(), []() -> task<void> {
        auto server = net::listener::bind(net::address::loopback());
        const auto at = server.local_address();
        int errors = 0;
        net::serve_options options;
        options.on_connection_error = [&errors](std::exception_ptr e) {
            ++errors;
            try {
                std::rethrow_exception(e);
            } catch (const std::runtime_error& r) {
                EXPECT_STREQ(r.what(), "bad client");
            }
        };
        // Echoes one message, or fails on one that starts with '!'.
        auto handler = [](net::stream conn, net::address) -> task<void> {
            std::vector<std::byte> buf(16);
            for (;;) {
                const std::size_t n = co_await conn.read_some(buf);
                if (n == 0) {
                    co_return;
                }
                if (buf[0] == std::byte{'!'}) {
                    throw std::runtime_error("bad client");
                }
                co_await conn.write_all(std::span<const std::byte>(buf).first(n));
            }
        };
        auto serving = net::serve(server, handler, std::move(options));
        net::stream idle; // a client the server is still serving when it stops
        co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
            scope.spawn(std::move(serving), {.awaited = false}); // cancelled when the block ends
            auto bad = co_await net::stream::connect(at);
            idle = co_await net::stream::connect(at);
            co_await bad.write_all(std::string_view("!boom"));
            std::vector<std::byte> buf(16);
            EXPECT_EQ(co_await bad.read_some(buf), 0U) << "the failed handler closed its stream";
            auto good = co_await net::stream::connect(at);
            co_await good.write_all(std::string_view("hello"));
            EXPECT_EQ(co_await good.read_some(buf), 5U) << "the server still serves";
            co_await idle.write_all(std::string_view("hi"));
            EXPECT_EQ(co_await idle.read_some(buf), 2U);
        });
        // Stopping serve() cancelled the handler that waited on `idle`, which closed it.
        std::vector<std::byte> buf(16);
        EXPECT_EQ(co_await idle.read_some(buf), 0U);
        EXPECT_EQ(errors, 1);
    });
}

TEST(NetServe, AcceptFailuresForWantOfFdsPauseWithBackoffAndOthersDoNot) {
    using ms = std::chrono::milliseconds;
    net::serve_options options;
    options.backoff = ms(10);
    options.max_backoff = ms(35);
    std::vector<long> told;
    options.on_accept_error = [&told](const std::system_error&, ms pause) {
        told.push_back(static_cast<long>(pause.count()));
    };
    ms next = options.backoff;
    const auto fail = [&](int err) {
        try {
            throw std::system_error(err, std::generic_category(), "accept on 127.0.0.1:1");
        } catch (const std::system_error& e) {
            return net::detail::accept_failure_pause(e, next, options).count();
        }
    };
    EXPECT_EQ(fail(EMFILE), 10);
    EXPECT_EQ(fail(ENFILE), 20);
    EXPECT_EQ(fail(ENOBUFS), 35) << "doubling stops at max_backoff";
    EXPECT_EQ(fail(ENOMEM), 35);
    EXPECT_EQ(fail(ECONNABORTED), 0) << "one aborted connection: accept the next at once";
    EXPECT_EQ(fail(EPROTO), 0);
    EXPECT_EQ(told, (std::vector<long>{10, 20, 35, 35}));
    EXPECT_THROW(fail(EBADF), std::system_error) << "a closed listener ends serve()";
    EXPECT_THROW(fail(EINVAL), std::system_error);
}

INSTANTIATE_TEST_SUITE_P(EachEngine, NetIo, io_engines(), io_engine_test_name);
