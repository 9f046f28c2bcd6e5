// coven::net (B4): addresses, TCP and Unix streams, listeners and socketpair on loopback: echo
// with a checksum, end of stream, errors that name the peer, cancellation that loses no byte,
// close under a waiting task, SIGPIPE. Every socket test runs over each I/O engine.
#include <coven/net/address.hpp>
#include <coven/net/listener.hpp>
#include <coven/net/stream.hpp>

#include "net_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <system_error>
#include <vector>

using namespace coven_test;
using coven::task;
namespace net = coven::net;

namespace {

auto text(std::span<const std::byte> b) -> std::string {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A pseudo-random payload of `n` bytes (seeded: the same bytes every run).
auto payload(std::size_t n, std::uint32_t seed) -> std::vector<std::byte> {
    std::vector<std::byte> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) {
        b = static_cast<std::byte>(rng());
    }
    return v;
}

class Net : public ::testing::TestWithParam<coven::io_engine> {};

} // namespace

// --- addresses ----------------------------------------------------------------------------------

TEST(NetAddress, ParsesAndPrintsEachForm) {
    for (const char* t : {"127.0.0.1:6379", "0.0.0.0:0", "[::1]:80", "[2001:db8::7]:65535",
                          "unix:/tmp/app.sock", "unix:@coven-test"}) {
        EXPECT_EQ(net::address::parse(t).to_string(), t);
    }
    const auto v6 = net::address::parse("[::1]:8080");
    EXPECT_EQ(v6.family(), net::address::kind::ipv6);
    EXPECT_EQ(v6.port(), 8080);
    EXPECT_EQ(net::address::parse("unix:@x").family(), net::address::kind::unix_abstract);
    EXPECT_EQ(net::address::loopback(9), net::address::parse("127.0.0.1:9"));
    EXPECT_EQ(net::address().to_string(), "(none)");
}

TEST(NetAddress, BadTextIsAnAddressErrorThatQuotesIt) {
    for (const char* t : {"localhost", "127.0.0.1", "1.2.3.4:99999", "1.2.3.4:", "::1:80",
                          "[::1]80", "[::1", "300.1.1.1:80", "unix:", "[fe80::1%nosuchif0]:1"}) {
        try {
            (void)net::address::parse(t);
            ADD_FAILURE() << t << " parsed";
        } catch (const net::address_error& e) {
            EXPECT_NE(std::string(e.what()).find(t), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW((void)net::address::unix_path(std::string(200, 'p')), net::address_error);
}

// --- streams --------------------------------------------------------------------------------

TEST_P(Net, AnEchoOverTcpReturnsEveryByteInOrder) {
    run_on(GetParam(), []() -> task<void> {
        auto server = net::listener::bind(net::address::loopback());
        const auto where = server.local_address();
        EXPECT_NE(where.port(), 0);
        auto echo = [](net::listener& l) -> task<void> {
            auto [conn, peer] = co_await l.accept();
            EXPECT_EQ(peer.family(), net::address::kind::ipv4);
            std::vector<std::byte> buf(4096);
            for (;;) {
                const std::size_t n = co_await conn.read_some(buf);
                if (n == 0) {
                    break;
                }
                co_await conn.write_all(std::span(buf).first(n));
            }
        };
        auto served = coven::current_loop()->create_task(echo(server));
        auto client = co_await net::stream::connect(where);
        client.set_nodelay(true);
        EXPECT_EQ(client.peer_address(), where);
        // 4 MiB: more than the socket buffers hold, so both sides wait for each other.
        const auto sent = payload(4 << 20, 7);
        auto writer = [](net::stream& s, const std::vector<std::byte>& data) -> task<void> {
            co_await s.write_all(data);
            s.shutdown_write();
        };
        auto wrote = coven::current_loop()->create_task(writer(client, sent));
        std::vector<std::byte> got(sent.size());
        co_await client.read_exact(got);
        EXPECT_TRUE(got == sent);
        std::byte extra[1];
        EXPECT_EQ(co_await client.read_some(extra), 0U); // the server closed after the echo
        co_await wrote;
        co_await served;
    });
}

TEST_P(Net, ReadExactRaisesEndOfStreamSayingHowMuchHadArrived) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        co_await a.write_all("abc");
        a.close();
        std::vector<std::byte> buf(10);
        try {
            co_await b.read_exact(buf);
            ADD_FAILURE() << "no end of stream";
        } catch (const net::end_of_stream& e) {
            EXPECT_NE(std::string(e.what()).find("after 3 of 10 bytes"), std::string::npos)
                << e.what();
        }
    });
}

TEST_P(Net, TheEndOfStreamBehindAShortReadIsStillSeen) {
    // The last bytes and the peer's close arrive in one readiness report: the short read that
    // takes the bytes must not make the next read wait for a report that never comes.
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        auto closer = [](net::stream& s) -> task<void> {
            co_await coven::skip_poll_cycle(); // the reader is registered and waiting
            co_await s.write_all("abc");
            s.close();
        };
        auto closed = coven::current_loop()->create_task(closer(a));
        std::vector<std::byte> buf(4096);
        EXPECT_EQ(co_await b.read_some(buf), 3U); // short: the reader thinks it drained
        EXPECT_EQ(co_await coven::fail_after(5.0, [&] { return b.read_some(buf); }), 0U);
        co_await closed;
    });
}

TEST_P(Net, ARefusedConnectNamesTheAddressAndTheReason) {
    run_on(GetParam(), []() -> task<void> {
        net::address gone;
        {
            auto l = net::listener::bind(net::address::loopback());
            gone = l.local_address();
        } // closed: nothing listens there now
        try {
            (void)co_await net::stream::connect(gone);
            ADD_FAILURE() << "connected";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), ECONNREFUSED);
            EXPECT_EQ(std::string(e.what()),
                      "connect to " + gone.to_string() + ": Connection refused");
        }
    });
}

TEST_P(Net, AConnectThatHangsIsBoundedByATimeoutAndLeavesNothingOpen) {
    // A listener that never accepts, with its queue full: Linux drops further SYNs, so the next
    // connect waits (the kernel retries for minutes). fail_after() ends it and closes the socket.
    run_on(GetParam(), []() -> task<void> {
        auto full = net::listener::bind(net::address::loopback(), {.backlog = 0});
        const auto at = full.local_address();
        std::vector<net::stream> queued;
        bool timed_out = false;
        for (int i = 0; i < 8 && !timed_out; ++i) {
            try {
                queued.push_back(co_await coven::fail_after(0.2, net::stream::connect(at)));
            } catch (const coven::timeout_error&) {
                timed_out = true;
            }
        }
        EXPECT_TRUE(timed_out) << "every connect to a full listener completed";
        EXPECT_EQ(coven::testing::live().fds, static_cast<std::int64_t>(queued.size()) + 1);
    });
}

TEST_P(Net, ACancelledReadConsumesNothing) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        std::vector<std::byte> buf(16);
        auto r = co_await coven::move_on_after(0.02,
                                               [&] { return b.read_some(buf); }); // nothing arrives
        EXPECT_FALSE(r.has_value());
        EXPECT_EQ(coven::testing::live().waiters, 0);
        co_await a.write_all("hello");
        const std::size_t n = co_await b.read_some(buf);
        EXPECT_EQ(text(std::span(buf).first(n)), "hello");
    });
}

TEST_P(Net, ClosingASocketWakesTheTaskWaitingOnItWithEBADF) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        auto reader = [](net::stream& s) -> task<int> {
            std::byte buf[8];
            try {
                (void)co_await s.read_some(buf);
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
            co_return 0;
        };
        auto f = coven::current_loop()->create_task(reader(b));
        co_await coven::skip_ready_cycle(); // the reader is parked now
        b.close();
        EXPECT_EQ(co_await f, EBADF);
        (void)a;
    });
}

TEST_P(Net, WritingToAClosedPeerIsAnErrorNotASignal) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        b.close();
        try {
            co_await a.write_all(std::vector<std::byte>(1 << 20));
            ADD_FAILURE() << "the write succeeded";
        } catch (const std::system_error& e) {
            EXPECT_TRUE(e.code().value() == EPIPE || e.code().value() == ECONNRESET) << e.what();
        }
    });
}

TEST_P(Net, OneReaderPerSocketAtATime) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        auto reader = [](net::stream& s) -> task<void> {
            std::byte buf[8];
            (void)co_await s.read_some(buf);
        };
        auto first = coven::current_loop()->create_task(reader(b));
        co_await coven::skip_ready_cycle();
        std::byte buf[8];
        EXPECT_THROW((void)co_await b.read_some(buf), coven::usage_error);
        co_await a.write_all("x");
        co_await first;
    });
}

TEST_P(Net, UnixPathAndAbstractListenersAcceptConnections) {
    run_on(GetParam(), []() -> task<void> {
        const std::string path = "/tmp/coven-net-test-" + std::to_string(::getpid()) + ".sock";
        ::unlink(path.c_str());
        for (const auto& at :
             {net::address::unix_path(path),
              net::address::unix_abstract("coven-net-" + std::to_string(::getpid()))}) {
            auto l = net::listener::bind(at);
            auto client = co_await net::stream::connect(at);
            auto [conn, peer] = co_await l.accept();
            co_await client.write_all("ping");
            std::vector<std::byte> buf(4);
            co_await conn.read_exact(buf);
            EXPECT_EQ(text(buf), "ping");
        }
        ::unlink(path.c_str());
    });
}

TEST_P(Net, GatheredWritesSendEveryPartInOrder) {
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        const auto big = payload(300000, 3);
        const std::span<const std::byte> parts[] = {bytes("head:"), big, bytes(""), bytes(":tail")};
        auto writer = [](net::stream& s,
                         std::span<const std::span<const std::byte>> p) -> task<void> {
            co_await s.write_all(p);
        };
        auto wrote = coven::current_loop()->create_task(writer(a, parts));
        std::vector<std::byte> got(5 + big.size() + 5);
        co_await b.read_exact(got);
        EXPECT_EQ(text(std::span(got).first(5)), "head:");
        EXPECT_TRUE(std::equal(big.begin(), big.end(), got.begin() + 5));
        EXPECT_EQ(text(std::span(got).last(5)), ":tail");
        co_await wrote;
    });
}

TEST_P(Net, RandomCancellationsOfReadsAndWritesLoseAndRepeatNoByte) {
    // Seeded: 3,000 reads and 3,000 writes, each under a deadline that has passed, one a few
    // microseconds away, or none. read_some and write_some are cancel-safe: the bytes that
    // arrive are exactly the bytes sent, in order.
    run_on(GetParam(), []() -> task<void> {
        auto ends = net::socketpair(); // (named: clang 14 lambdas cannot capture bindings)
        net::stream& a = ends.first;
        net::stream& b = ends.second;
        const auto sent = payload(3000 * 97, 11);
        auto deadline = [](std::mt19937& rng) -> double {
            switch (rng() % 3) {
            case 0:
                return -1.0; // already passed
            case 1:
                return 1e-6 * static_cast<double>(rng() % 50);
            default:
                return 1.0;
            }
        };
        auto writer = [&](net::stream& s) -> task<int> {
            std::mt19937 rng(1);
            std::size_t at = 0;
            int cancelled = 0;
            while (at < sent.size()) {
                const auto chunk =
                    std::span(sent).subspan(at, std::min<std::size_t>(97, sent.size() - at));
                auto n = co_await coven::move_on_after(deadline(rng),
                                                       [&] { return s.write_some(chunk); });
                if (n) {
                    at += *n;
                } else {
                    ++cancelled;
                }
                co_await coven::skip_poll_cycle(); // the reader runs: it often finds nothing
            }
            s.shutdown_write();
            co_return cancelled;
        };
        auto wrote = coven::current_loop()->create_task(writer(a));
        std::mt19937 rng(2);
        std::vector<std::byte> got;
        std::vector<std::byte> buf(4096); // drains the socket: the next read often waits
        int cancelled = 0;
        for (;;) {
            auto n = co_await coven::move_on_after(deadline(rng), [&] { return b.read_some(buf); });
            if (!n) {
                ++cancelled;
                continue;
            }
            if (*n == 0) {
                break;
            }
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        }
        const int write_cancels = co_await wrote;
        EXPECT_GT(cancelled + write_cancels, 100);
        EXPECT_EQ(got.size(), sent.size());
        EXPECT_TRUE(got == sent);
    });
}

INSTANTIATE_TEST_SUITE_P(EachEngine, Net, io_engines(), io_engine_test_name);
