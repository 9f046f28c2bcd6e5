// coven_redis (examples/net/coven_redis/) on loopback: mutated pipelines over sockets, each
// compared with what a mirror session says, a thousand slowloris clients beside one that pings,
// peers that reset mid-reply, half-close, subscribe or pipeline and never read, max_clients, and
// keys that expire on the real clock. Every test leaves no task, timer, socket or fd behind
// (tests/support/test_main.cpp checks).
#include "server.hpp"

#include <coven/coven.hpp>
#include <coven/net.hpp>

#include "net_util.hpp"
#include "redis_test_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace coven_test;
using namespace redis_test;
using coven::task;
using coven_redis::server;
using coven_redis::server_options;
using coven_redis::session;
namespace net = coven::net;
using std::chrono::steady_clock;

namespace {

// --- over sockets -----------------------------------------------------------------------------

/// The next whole reply on `conn` (read into `pending`, which keeps what follows it).
auto read_reply(net::stream& conn, std::string& pending) -> task<std::string> {
    std::vector<std::byte> chunk(64 * 1024);
    for (;;) {
        const scanned r = scan_reply(pending, 0);
        if (r.status == scan::complete) {
            std::string reply = pending.substr(0, r.end);
            pending.erase(0, r.end);
            co_return reply;
        }
        if (r.status == scan::invalid) {
            throw std::runtime_error("a malformed reply: " + shown(pending));
        }
        const std::size_t n = co_await conn.read_some(chunk);
        if (n == 0) {
            throw std::runtime_error("the server closed before its reply; had " + shown(pending));
        }
        pending.append(reinterpret_cast<const char*>(chunk.data()), n);
    }
}

struct client {
    net::stream conn;
    std::string pending;

    auto call(std::string_view request) -> task<std::string> {
        co_await conn.write_all(request);
        co_return co_await read_reply(conn, pending);
    }
};

auto connect(net::address at) -> task<client> {
    client c;
    c.conn = co_await net::stream::connect(at);
    c.conn.set_nodelay(true);
    co_return c;
}

struct ending {
    std::string data;   ///< all that came
    bool reset = false; ///< it ended with an error (ECONNRESET), not an end of stream
};

/// Reads until the server closes.
auto read_to_end(net::stream& conn) -> task<ending> {
    ending e;
    std::vector<std::byte> chunk(64 * 1024);
    for (;;) {
        std::size_t n = 0;
        try {
            n = co_await conn.read_some(chunk);
        } catch (const std::system_error&) {
            e.reset = true;
            co_return e;
        }
        if (n == 0) {
            co_return e;
        }
        e.data.append(reinterpret_cast<const char*>(chunk.data()), n);
    }
}

/// Writes `data`, then half-closes; a server that closes first ends it quietly.
auto write_then_shut(net::stream& conn, std::string_view data) -> task<void> {
    try {
        co_await conn.write_all(data);
        conn.shutdown_write();
    } catch (const std::system_error&) {
    }
}

template <class Condition>
auto eventually(Condition done, std::chrono::milliseconds limit = std::chrono::seconds(5))
    -> task<bool> {
    // For what the server tells no event about (a count in its stats): polled every
    // millisecond, for at most `limit`.
    const auto until = steady_clock::now() + limit;
    while (!done()) {
        if (steady_clock::now() >= until) {
            co_return false;
        }
        co_await coven::sleep(std::chrono::milliseconds(1));
    }
    co_return true;
}

void set_option(const net::stream& s, int name, int value) {
    EXPECT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, name, &value, sizeof value), 0);
}

/// close() then sends a reset (RST), not an end of stream.
void reset_on_close(const net::stream& s) {
    const linger l{1, 0};
    EXPECT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
}

/// Runs `test(address)` while `srv` serves a loopback listener; then cancels the server and
/// waits until it has ended every connection.
template <class Test>
auto with_server(server& srv, Test test, net::listener_options options = {}) -> task<void> {
    auto where = net::listener::bind(net::address::parse("127.0.0.1:0"), options);
    const net::address at = where.local_address();
    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
        scope.spawn(srv.run(where), {.awaited = false});
        co_await coven::fail_after(std::chrono::seconds(30), test(at));
    });
    EXPECT_EQ(srv.stats().connected, 0U) << "connections outlived the server";
}

auto percentile(std::vector<double> v, double p) -> double {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

auto payload(std::size_t n, std::uint32_t seed) -> std::string {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) {
        c = static_cast<char>(rng());
    }
    return s;
}

/// Whether what a client read (`got`, all of it if `whole`, else what came before a reset) is
/// what a mirror session said, reply by reply. An INFO reply is only checked to be a bulk: its
/// clients and stats sections count connections, which the mirror has none of.
auto matches_mirror(std::string_view got, std::string_view expected, bool whole) -> std::string {
    const auto wanted = split_replies(expected);
    if (!wanted) {
        return "the mirror's replies are malformed";
    }
    std::size_t at = 0;
    for (std::size_t i = 0; at < got.size(); ++i) {
        const scanned r = scan_reply(got, at);
        if (r.status == scan::invalid) {
            return "a malformed reply at byte " + std::to_string(at);
        }
        if (r.status == scan::incomplete) {
            if (whole) {
                return "the last reply is cut short: " + shown(got.substr(at));
            }
            return i < wanted->size() && (*wanted)[i].starts_with(got.substr(at))
                       ? std::string()
                       : "the reply cut short is not the mirror's";
        }
        const std::string_view reply = got.substr(at, r.end - at);
        if (i >= wanted->size()) {
            return "more replies than the mirror's: " + shown(reply);
        }
        const std::string_view want = (*wanted)[i];
        const bool info = want.find("\r\nconnected_clients:") != std::string_view::npos ||
                          want.find("\r\ntotal_connections_received:") != std::string_view::npos;
        if (info ? reply[0] != '$' : reply != want) {
            return "reply " + std::to_string(i) + " is " + shown(reply) + ", the mirror's " +
                   shown(want);
        }
        at = r.end;
        if (whole && at == got.size() && i + 1 != wanted->size()) {
            return "fewer replies than the mirror's";
        }
    }
    if (whole && got.empty() && !wanted->empty()) {
        return "no reply";
    }
    return {};
}

TEST(RedisReplyParser, AMirrorComparisonAllowsOnlyACutAfterAResetAndDifferentInfoCounters) {
    const std::string info = bulk("# Clients\r\nconnected_clients:0\r\n");
    const std::string mirror = "+OK\r\n" + info + ":1\r\n";
    EXPECT_EQ(matches_mirror(mirror, mirror, true), "");
    EXPECT_EQ(matches_mirror("+OK\r\n" + bulk("# Clients\r\nconnected_clients:1\r\n") + ":1\r\n",
                             mirror, true),
              "");
    EXPECT_EQ(matches_mirror("+OK\r\n$3", mirror, false), "");
    EXPECT_NE(matches_mirror("+OK\r\n$3", mirror, true), "");
    EXPECT_NE(matches_mirror("+OK\r\n" + info, mirror, true), "");
    EXPECT_NE(matches_mirror("+OK\r\n" + info + ":2\r\n", mirror, false), "");
    EXPECT_NE(matches_mirror(mirror + ":1\r\n", mirror, false), "");
    EXPECT_NE(matches_mirror("", mirror, true), "");
    EXPECT_EQ(matches_mirror("", mirror, false), "");
}

class RedisServer : public ::testing::TestWithParam<coven::io_engine> {};

TEST_P(RedisServer, MutatedPipelinesOverSocketsAreAnsweredOrClosedAndTheServerLivesOn) {
    // Each input goes over its own connection, and to a session of a mirror server: what the
    // client reads is all the mirror said (the server closed after it), or a prefix of it (the
    // server closed with input unread, which resets the connection). The inputs have no
    // command whose reply depends on time, so the two may be compared.
    constexpr int inputs = 300;
    server_options o;
    o.limits.max_request = 4096;
    o.limits.max_inline = 512;
    o.limits.max_args = 64;
    server srv(o);
    server mirror(o);
    int closed_by_error = 0;
    int resets = 0;
    std::size_t received = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            std::mt19937 rng(0x5EED);
            std::string donor;
            for (int i = 0; i < inputs; ++i) {
                const std::string input = fuzz_input(rng, true, donor);
                fed expected;
                {
                    session s(mirror);
                    expected = feed(s, input);
                }
                EXPECT_EQ(check_replies(expected, input), "");
                closed_by_error += expected.closed ? 1 : 0;
                net::stream conn = co_await net::stream::connect(at);
                ending got;
                co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
                    scope.spawn(write_then_shut(conn, input));
                    got = co_await read_to_end(conn);
                });
                received += got.data.size();
                resets += got.reset ? 1 : 0;
                EXPECT_EQ(matches_mirror(got.data, expected.out, !got.reset), "")
                    << "input " << i << ": " << shown(input);
                // The server's task for it ends (it ends before the socket closes).
                EXPECT_EQ(srv.stats().connected, 0U);
            }
            EXPECT_EQ(srv.stats().protocol_errors, mirror.stats().protocol_errors);
            EXPECT_EQ(srv.stats().commands, mirror.stats().commands);
            client fresh = co_await connect(at);
            EXPECT_EQ(co_await fresh.call("PING\r\n"), "+PONG\r\n");
        });
    });
    std::printf("[ socket fuzz ] %d inputs, %d closed after an error, %d reset, %zu reply bytes "
                "read\n",
                inputs, closed_by_error, resets, received);
    EXPECT_GT(closed_by_error, inputs / 10);
}

/// A client that sends its request a byte at a time, a random 100 to 1000 ms apart, and
/// checks each reply; again and again.
auto slowloris(net::stream& conn, std::uint32_t seed, int& answered) -> task<void> {
    struct request {
        std::string_view text;
        std::string_view reply;
    };
    static constexpr request requests[] = {
        {"PING\r\n", "+PONG\r\n"},
        {"*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
        {"ECHO slow\r\n", "$4\r\nslow\r\n"},
        {"*2\r\n$4\r\nECHO\r\n$4\r\nslow\r\n", "$4\r\nslow\r\n"},
    };
    std::mt19937 rng(seed);
    const request& r = requests[pick(rng, std::size(requests))];
    std::uniform_int_distribution<int> gap_ms(100, 1000);
    std::string pending;
    for (;;) {
        for (const char c : r.text) {
            co_await coven::sleep(std::chrono::milliseconds(gap_ms(rng)));
            co_await conn.write_all(std::string_view(&c, 1));
        }
        EXPECT_EQ(co_await read_reply(conn, pending), r.reply);
        ++answered;
    }
}

auto timed_ping(client& c) -> task<double> {
    const auto t0 = steady_clock::now();
    EXPECT_EQ(co_await c.call("PING\r\n"), "+PONG\r\n");
    co_return std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count();
}

/// RLIMIT_NOFILE's soft limit raised to the hard one for the test's life.
class fd_limit_raised {
public:
    explicit fd_limit_raised(rlim_t needed) {
        if (::getrlimit(RLIMIT_NOFILE, &m_before) != 0 ||
            (m_before.rlim_max != RLIM_INFINITY && m_before.rlim_max < needed)) {
            return;
        }
        rlimit raised = m_before;
        raised.rlim_cur = m_before.rlim_max == RLIM_INFINITY
                              ? std::max<rlim_t>(m_before.rlim_cur, 65536)
                              : m_before.rlim_max;
        m_raised = ::setrlimit(RLIMIT_NOFILE, &raised) == 0;
    }
    ~fd_limit_raised() {
        if (m_raised) {
            ::setrlimit(RLIMIT_NOFILE, &m_before);
        }
    }
    fd_limit_raised(const fd_limit_raised&) = delete;
    auto operator=(const fd_limit_raised&) -> fd_limit_raised& = delete;
    [[nodiscard]] auto raised() const noexcept -> bool { return m_raised; }

private:
    rlimit m_before{};
    bool m_raised = false;
};

TEST_P(RedisServer, AThousandSlowlorisClientsDoNotDelayAClientThatPings) {
    constexpr std::size_t slow_clients = 1000;
    const fd_limit_raised fds(4096);
    if (!fds.raised()) {
        GTEST_SKIP() << "needs RLIMIT_NOFILE's hard limit at 4096 or more";
    }
    server srv;
    std::vector<double> alone;
    std::vector<double> beside;
    std::size_t connected_at_end = 0;
    int answered_slowly = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(
            srv,
            [&](net::address at) -> task<void> {
                client pinger = co_await connect(at);
                for (int i = 0; i < 200; ++i) {
                    alone.push_back(co_await timed_ping(pinger));
                }
                std::vector<net::stream> slow;
                slow.reserve(slow_clients);
                for (std::size_t i = 0; i < slow_clients; ++i) {
                    slow.push_back(co_await net::stream::connect(at));
                }
                EXPECT_TRUE(
                    co_await eventually([&] { return srv.stats().connected == slow_clients + 1; }));
                std::mt19937 seeds(1000);
                co_await coven::move_on_after(std::chrono::seconds(3), [&]() -> task<void> {
                    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
                        for (net::stream& s : slow) {
                            scope.spawn(slowloris(s, seeds(), answered_slowly), {.awaited = false});
                        }
                        for (;;) {
                            beside.push_back(co_await timed_ping(pinger));
                            co_await coven::sleep(std::chrono::milliseconds(5)); // a ping rate
                        }
                    });
                });
                connected_at_end = srv.stats().connected;
            },
            {.backlog = 4096});
    });
    const double worst = beside.empty() ? 0 : *std::max_element(beside.begin(), beside.end());
    std::printf("[ slowloris ] %zu clients, %d of their requests answered; PING alone p50 %.3f "
                "p99 %.3f ms; beside them (%zu pings) p50 %.3f p99 %.3f max %.3f ms\n",
                slow_clients, answered_slowly, percentile(alone, 0.5), percentile(alone, 0.99),
                beside.size(), percentile(beside, 0.5), percentile(beside, 0.99), worst);
    RecordProperty("ping_p99_us_alone", static_cast<int>(percentile(alone, 0.99) * 1000));
    RecordProperty("ping_p99_us_beside", static_cast<int>(percentile(beside, 0.99) * 1000));
    EXPECT_EQ(connected_at_end, slow_clients + 1) << "a slowloris client was dropped";
    EXPECT_GE(beside.size(), 100U) << "the pinger was held up";
    EXPECT_LT(worst, 500.0) << "a PING waited on the slow clients";
    EXPECT_GT(answered_slowly, 0) << "no slow request was ever answered";
}

TEST_P(RedisServer, AClientThatResetsMidReplyLeavesTheServerServingTheNext) {
    // 128 values of 64 KiB: an MGET of all is an 8 MiB reply; 20,000 more keys make KEYS * a
    // 0.4 MiB one. The client asks for several, reads 64 KiB, and resets.
    server srv;
    std::vector<std::string> mget = {"MGET"};
    for (int i = 0; i < 128; ++i) {
        const std::string key = "big:" + std::to_string(i);
        srv.keys().upsert(key, steady_clock::now()).value = payload(64 * 1024, i);
        mget.push_back(key);
    }
    for (int i = 0; i < 20000; ++i) {
        srv.keys().upsert("small:" + std::to_string(1000000 + i), steady_clock::now()).value = "v";
    }
    std::string mgets;
    std::string keys;
    for (int i = 0; i < 4; ++i) {
        mgets += mb(mget);
    }
    for (int i = 0; i < 16; ++i) {
        keys += "KEYS *\r\n";
    }
    int resets = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            for (int round = 0; round < 6; ++round) {
                const bool by_mget = round % 2 == 0;
                net::stream conn = co_await net::stream::connect(at);
                set_option(conn, SO_RCVBUF, 32 * 1024);
                co_await conn.write_all(by_mget ? mgets : keys);
                std::string got;
                std::vector<std::byte> chunk(16 * 1024);
                while (got.size() < 64 * 1024) {
                    const std::size_t n = co_await conn.read_some(chunk);
                    if (n == 0) {
                        ADD_FAILURE() << "the server closed before the reply";
                        break;
                    }
                    got.append(reinterpret_cast<const char*>(chunk.data()), n);
                }
                EXPECT_TRUE(got.starts_with(by_mget ? "*128\r\n$65536\r\n" : "*20128\r\n$"));
                EXPECT_TRUE(is_reply_prefix(got));
                reset_on_close(conn);
                conn.close();
                ++resets;
                EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 0; }))
                    << "the server did not notice the reset";
                client next = co_await connect(at);
                EXPECT_EQ(co_await next.call("PING\r\nDBSIZE\r\n"), "+PONG\r\n");
                EXPECT_EQ(co_await read_reply(next.conn, next.pending), ":20128\r\n");
                EXPECT_EQ(co_await next.call("GET big:7\r\n"), bulk(payload(64 * 1024, 7)));
            }
        });
    });
    EXPECT_EQ(resets, 6);
    EXPECT_EQ(srv.stats().connections, 12U);
}

TEST_P(RedisServer, AClientThatHalfClosesGetsEveryReplyThenTheEnd) {
    std::mt19937 rng(77);
    std::string pipeline = mb({"SET", "big", payload(64 * 1024, 1)});
    for (int i = 0; i < 400; ++i) {
        switch (pick(rng, 5)) {
        case 0:
            pipeline += "INCR n\r\n";
            break;
        case 1:
            pipeline += "GET big\r\n";
            break;
        case 2:
            pipeline += "PING\r\n";
            break;
        case 3:
            pipeline += mb({"ECHO", payload(pick(rng, 100), static_cast<std::uint32_t>(i))});
            break;
        default:
            pipeline += "GET n\r\n";
        }
    }
    pipeline += "DBSIZE\r\n";
    server mirror;
    fed expected;
    {
        session s(mirror);
        expected = feed(s, pipeline);
    }
    ASSERT_EQ(check_replies(expected, pipeline), "");
    server srv;
    ending got;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            net::stream conn = co_await net::stream::connect(at);
            co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
                scope.spawn(write_then_shut(conn, pipeline));
                got = co_await read_to_end(conn);
            });
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 0; }));
        });
    });
    std::printf("[ half-close ] %zu request bytes, %zu reply bytes\n", pipeline.size(),
                got.data.size());
    EXPECT_FALSE(got.reset) << "the server closed with an end of stream";
    EXPECT_EQ(got.data.size(), expected.out.size());
    EXPECT_TRUE(got.data == expected.out) << "the replies differ";
    EXPECT_EQ(srv.stats().commands, mirror.stats().commands);
}

TEST_P(RedisServer, ASubscriberThatNeverReadsIsDisconnectedAtTheOutputLimit) {
    server_options o;
    o.output_limit = 256 * 1024;
    server srv(o);
    const std::string message = payload(64 * 1024, 3);
    int delivered = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            client sub = co_await connect(at);
            set_option(sub.conn, SO_RCVBUF, 16 * 1024);
            EXPECT_EQ(co_await sub.call("SUBSCRIBE news\r\n"),
                      "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
            client pub = co_await connect(at);
            const std::string publish = mb({"PUBLISH", "news", message});
            bool cut = false;
            for (int i = 0; i < 4096 && !cut; ++i) {
                const std::string r = co_await pub.call(publish);
                if (r == ":1\r\n") {
                    ++delivered;
                } else {
                    EXPECT_EQ(r, ":0\r\n");
                    cut = true;
                }
            }
            EXPECT_TRUE(cut) << "the subscriber was never disconnected";
            EXPECT_EQ(srv.stats().output_limit_closes, 1U);
            // It was cut only once what waited for it passed the limit.
            EXPECT_GT(static_cast<std::size_t>(delivered) * message.size(), o.output_limit);
            // The publisher is still served, and the subscriber finds its connection closed
            // after whole messages (and maybe part of one).
            EXPECT_EQ(co_await pub.call("PING\r\n"), "+PONG\r\n");
            EXPECT_EQ(co_await pub.call(publish), ":0\r\n");
            const ending e = co_await read_to_end(sub.conn);
            EXPECT_TRUE(is_reply_prefix(e.data));
            const std::string one = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n" + bulk(message);
            EXPECT_LE(e.data.size() / one.size(), static_cast<std::size_t>(delivered));
            EXPECT_TRUE(e.data.empty() || e.data.starts_with(one.substr(0, e.data.size())));
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 1; }));
        });
    });
    std::printf("[ output limit ] %d messages of 64 KiB delivered before the cut\n", delivered);
}

/// Serves the connections of `where` through server::serve_connection(), each with a small
/// send buffer on the server's side; a connection's failure ends it only.
auto serve_with_small_send_buffers(net::listener& where, server& srv, coven::task_scope& scope)
    -> task<void> {
    const auto serve_one = [](server& s, net::stream conn) -> task<void> {
        try {
            co_await s.serve_connection(std::move(conn));
        } catch (const std::system_error&) {
        }
    };
    for (;;) {
        net::accepted a = co_await where.accept();
        set_option(a.connection, SO_SNDBUF, 8 * 1024);
        scope.spawn(serve_one(srv, std::move(a.connection)), {.awaited = false});
    }
}

TEST_P(RedisServer, ASubscriberThatSendsCommandsButNeverReadsIsDisconnectedAtTheOutputLimit) {
    // While the subscriber's message task is stuck writing, the replies to the commands the
    // subscriber goes on sending pile up behind it: they count against the output limit too.
    server_options o;
    o.output_limit = 256 * 1024;
    server srv(o);
    std::size_t flood_sent = 0;
    run_on(GetParam(), [&]() -> task<void> {
        auto where = net::listener::bind(net::address::parse("127.0.0.1:0"));
        const net::address at = where.local_address();
        co_await coven::with_scope({}, [&](coven::task_scope& scope) -> task<void> {
            scope.spawn(serve_with_small_send_buffers(where, srv, scope), {.awaited = false});
            client sub = co_await connect(at);
            set_option(sub.conn, SO_RCVBUF, 8 * 1024);
            EXPECT_EQ(co_await sub.call("SUBSCRIBE news\r\n"),
                      "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
            client pub = co_await connect(at);
            // 200 KiB (within the limit) that the small buffers cannot take: the message
            // task is stuck writing it by the time the publisher's next reply comes.
            const std::string publish = mb({"PUBLISH", "news", payload(200 * 1024, 9)});
            EXPECT_EQ(co_await pub.call(publish), ":1\r\n");
            EXPECT_EQ(co_await pub.call("PING\r\n"), "+PONG\r\n");
            std::string flood;
            for (int i = 0; i < 200000; ++i) {
                flood += "PING\r\n"; // 6 bytes in, 24 out
            }
            flood_sent = flood.size();
            co_await coven::with_scope({}, [&](coven::task_scope& inner) -> task<void> {
                inner.spawn(write_then_shut(sub.conn, flood));
                EXPECT_TRUE(co_await eventually(
                    [&] { return srv.stats().output_limit_closes == 1; }, std::chrono::seconds(3)))
                    << "the replies piled up past the output limit and nobody cut them";
                sub.conn.close(); // ends the writer if it is still stuck
            });
            EXPECT_EQ(co_await pub.call("PUBLISH news x\r\n"), ":0\r\n");
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 1; }));
        });
    });
    std::printf("[ output limit ] a subscriber flooded %zu bytes of PING\n", flood_sent);
    EXPECT_EQ(srv.stats().connected, 0U);
}

TEST_P(RedisServer, AClientThatPipelinesAndNeverReadsIsHeldBackThenClosedWhenIdle) {
    server_options o;
    o.idle_timeout = std::chrono::milliseconds(300);
    server srv(o);
    const std::string value = payload(1024 * 1024, 11);
    srv.keys().upsert("big", steady_clock::now()).value = value;
    std::string pipeline;
    for (int i = 0; i < 1000; ++i) {
        pipeline += "GET big\r\n"; // 1000 replies of 1 MiB
    }
    std::uint64_t commands_run = 0;
    double idle_after_ms = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            net::stream greedy = co_await net::stream::connect(at);
            set_option(greedy, SO_RCVBUF, 64 * 1024);
            const auto t0 = steady_clock::now();
            co_await greedy.write_all(pipeline);
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().idle_closes == 1; }))
                << "the client that never reads was not disconnected";
            idle_after_ms =
                std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count();
            // The server ran only the GETs whose replies the socket could take: what waits
            // for this client stays about one reply.
            commands_run = srv.stats().commands;
            EXPECT_LT(commands_run, 64U);
            EXPECT_GT(commands_run, 0U);
            // Others are served; the greedy one reads what had been sent, then the end.
            client other = co_await connect(at);
            EXPECT_EQ(co_await other.call("PING\r\n"), "+PONG\r\n");
            EXPECT_EQ(co_await other.call("GET big\r\n"), bulk(value));
            const ending e = co_await read_to_end(greedy);
            EXPECT_TRUE(is_reply_prefix(e.data));
            EXPECT_LE(e.data.size(), commands_run * (value.size() + 16));
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 1; }));
            EXPECT_EQ(srv.stats().idle_closes, 1U) << "the active client stays";
        });
    });
    std::printf("[ idle ] a client that never read: %llu of 1000 GETs run, closed after %.0f ms\n",
                static_cast<unsigned long long>(commands_run), idle_after_ms);
    EXPECT_GE(idle_after_ms, 250.0);
}

TEST_P(RedisServer, AClientPastMaxClientsIsToldSoAndClosed) {
    server_options o;
    o.max_clients = 2;
    server srv(o);
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            client a = co_await connect(at);
            client b = co_await connect(at);
            EXPECT_EQ(co_await a.call("PING\r\n"), "+PONG\r\n");
            EXPECT_EQ(co_await b.call("PING\r\n"), "+PONG\r\n");
            client c = co_await connect(at);
            const ending e = co_await read_to_end(c.conn);
            EXPECT_EQ(e.data, "-ERR max number of clients reached\r\n");
            EXPECT_FALSE(e.reset);
            EXPECT_EQ(srv.stats().rejected, 1U);
            EXPECT_EQ(srv.stats().connected, 2U);
            // One leaves: there is room again.
            a.conn.close();
            EXPECT_TRUE(co_await eventually([&] { return srv.stats().connected == 1; }));
            client d = co_await connect(at);
            EXPECT_EQ(co_await d.call("PING\r\n"), "+PONG\r\n");
            EXPECT_EQ(co_await b.call("PING\r\n"), "+PONG\r\n");
            EXPECT_EQ(srv.stats().rejected, 1U);
        });
    });
    EXPECT_EQ(srv.stats().connections, 4U);
}

// --- expiry on the real clock -----------------------------------------------------------------

TEST_P(RedisServer, AKeyPastItsTimeIsFreedWithoutBeingRead) {
    server srv;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            client c = co_await connect(at);
            EXPECT_EQ(co_await c.call("SET k v PX 100\r\n"), "+OK\r\n");
            EXPECT_EQ(srv.keys().size(), 1U);
            co_await coven::sleep(std::chrono::milliseconds(250)); // the time to test
            EXPECT_EQ(srv.stats().expired_keys, 1U) << "the expiry task did not free it";
            EXPECT_EQ(srv.keys().size(), 0U);
            EXPECT_EQ(co_await c.call("DBSIZE\r\n"), ":0\r\n");
            EXPECT_EQ(co_await c.call("GET k\r\n"), "$-1\r\n");
        });
    });
}

TEST_P(RedisServer, ExpiryFreesAThousandKeysOnTimeAndSparesThoseWhoseTimeMoved) {
    server srv;
    double freed_after_ms = 0;
    double longest_ms = 0;
    run_on(GetParam(), [&]() -> task<void> {
        co_await with_server(srv, [&](net::address at) -> task<void> {
            client c = co_await connect(at);
            // Keys whose first deadline is stale: lifted, replaced, moved later.
            EXPECT_EQ(co_await c.call("SET lifted v PX 100\r\n"), "+OK\r\n");
            EXPECT_EQ(co_await c.call("PERSIST lifted\r\n"), ":1\r\n");
            EXPECT_EQ(co_await c.call("SET replaced v PX 100\r\n"), "+OK\r\n");
            EXPECT_EQ(co_await c.call("SET replaced w\r\n"), "+OK\r\n");
            EXPECT_EQ(co_await c.call("SET later v PX 100\r\n"), "+OK\r\n");
            EXPECT_EQ(co_await c.call("PEXPIRE later 100000\r\n"), ":1\r\n");
            EXPECT_EQ(co_await c.call("SET kept v\r\n"), "+OK\r\n");
            std::mt19937 rng(4242);
            std::string pipeline;
            for (int i = 0; i < 1000; ++i) {
                const std::size_t ms = 50 + pick(rng, 151);
                longest_ms = std::max(longest_ms, static_cast<double>(ms));
                pipeline +=
                    "SET many:" + std::to_string(i) + " v PX " + std::to_string(ms) + "\r\n";
            }
            const auto t0 = steady_clock::now();
            co_await c.conn.write_all(pipeline);
            for (int i = 0; i < 1000; ++i) {
                EXPECT_EQ(co_await read_reply(c.conn, c.pending), "+OK\r\n");
            }
            EXPECT_TRUE(co_await eventually([&] { return srv.keys().size() == 4; }))
                << srv.keys().size() << " keys left";
            freed_after_ms =
                std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count();
            EXPECT_EQ(srv.stats().expired_keys, 1000U);
            EXPECT_EQ(co_await c.call("DBSIZE\r\n"), ":4\r\n");
            EXPECT_EQ(co_await c.call("MGET lifted replaced later kept many:0\r\n"),
                      "*5\r\n$1\r\nv\r\n$1\r\nw\r\n$1\r\nv\r\n$1\r\nv\r\n$-1\r\n");
        });
    });
    std::printf("[ expiry ] 1000 keys of 50-200 ms freed unread after %.0f ms\n", freed_after_ms);
    EXPECT_GE(freed_after_ms, longest_ms) << "a key went before its time";
}

INSTANTIATE_TEST_SUITE_P(EachEngine, RedisServer, io_engines(), io_engine_test_name);

} // namespace
