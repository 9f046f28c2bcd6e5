// coven_redis (examples/net/coven_redis/) in-process, a session fed directly, with no socket:
// the reply parser the tests check with, inline and multibulk requests, pipelining, every split
// of a pipeline, SET's options, counters at the edges of int64, arity, unknown commands,
// subscribe mode, the request limits, and glob patterns. Every test leaves no task, timer,
// socket or fd behind (tests/support/test_main.cpp checks).
#include "glob.hpp"
#include "resp.hpp"
#include "server.hpp"

#include <coven/coven.hpp>

#include "redis_test_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace coven_test;
using namespace redis_test;
using coven::task;
using coven_redis::server;
using coven_redis::server_options;
using coven_redis::session;
using std::chrono::steady_clock;

namespace {

TEST(RedisReplyParser, AcceptsWellFormedRepliesOnlyAndTellsACutOneFromABadOne) {
    // The checker the other tests lean on: it must reject what it is there to catch.
    for (const std::string_view good :
         {"+OK\r\n", "-ERR x\r\n", ":-12\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
          "*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "$4\r\na\r\nb\r\n"}) {
        EXPECT_TRUE(split_replies(good).has_value()) << shown(good);
    }
    for (const std::string_view bad :
         {"OK\r\n", "-\r\n", "+a\nb\r\n", "+a\rb\r\n", ":1.5\r\n", ":+1\r\n", "$-2\r\n",
          "$3\r\nabcd\r\n", "*-2\r\n", "*1\r\nx\r\n", "$1\r\nab"}) {
        EXPECT_EQ(scan_reply(bad, 0).status, scan::invalid) << shown(bad);
        EXPECT_FALSE(is_reply_prefix(bad)) << shown(bad);
    }
    for (const std::string_view cut : {"+OK\r", "$5\r\nab", "*2\r\n:1\r\n", "", "*"}) {
        EXPECT_EQ(scan_reply(cut, 0).status, scan::incomplete) << shown(cut);
        EXPECT_TRUE(is_reply_prefix(cut)) << shown(cut);
        EXPECT_EQ(split_replies(cut).has_value(), cut.empty()) << shown(cut);
    }
}

constexpr std::string_view subscribe_only =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

// --- the protocol -----------------------------------------------------------------------------

TEST(RedisProtocol, InlineAndMultibulkSpellingsOfACommandGetTheSameReply) {
    struct spelling {
        std::string_view inline_form;
        std::vector<std::string> args;
        std::string_view reply;
    };
    const std::vector<spelling> cases = {
        {"PING\r\n", {"PING"}, "+PONG\r\n"},
        {"ping\n", {"ping"}, "+PONG\r\n"},
        {"PiNg hello\r\n", {"PiNg", "hello"}, "$5\r\nhello\r\n"},
        {"  ECHO \t  spaced \r\n", {"ECHO", "spaced"}, "$6\r\nspaced\r\n"},
        {"SET k v\r\n", {"SET", "k", "v"}, "+OK\r\n"},
        {"GET nosuch\r\n", {"GET", "nosuch"}, "$-1\r\n"},
        {"INCRBY n -7\r\n", {"INCRBY", "n", "-7"}, ":-7\r\n"},
        {"MGET a b\r\n", {"MGET", "a", "b"}, "*2\r\n$-1\r\n$-1\r\n"},
        {"DBSIZE\r\n", {"DBSIZE"}, ":0\r\n"},
        {"SELECT 0\r\n", {"SELECT", "0"}, "+OK\r\n"},
        {"SELECT 1\r\n", {"SELECT", "1"}, "-ERR DB index is out of range\r\n"},
        {"CONFIG GET maxclients\r\n",
         {"CONFIG", "GET", "maxclients"},
         "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"},
        {"COMMAND COUNT\r\n", {"COMMAND", "COUNT"}, ":29\r\n"},
        {"UNSUBSCRIBE\r\n", {"UNSUBSCRIBE"}, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"},
    };
    for (const spelling& c : cases) {
        server a;
        session sa(a);
        EXPECT_EQ(ask(sa, c.inline_form), c.reply) << shown(c.inline_form);
        server b;
        session sb(b);
        EXPECT_EQ(ask(sb, mb(c.args)), c.reply) << shown(c.inline_form);
    }

    // What only a multibulk can carry: blanks, line breaks and NUL bytes in an argument.
    server srv;
    session s(srv);
    const std::string binary("a b\r\n\0c", 7);
    EXPECT_EQ(ask(s, mb({"SET", "k", binary}) + mb({"GET", "k"})), "+OK\r\n" + bulk(binary));

    // Blank lines, `*0` and `*-1` are consumed and run nothing.
    const fed nothing = feed(s, "\r\n\n   \r\n*0\r\n*-1\r\n");
    EXPECT_EQ(nothing.out, "");
    EXPECT_EQ(nothing.left, 0U);
    EXPECT_FALSE(nothing.closed);
    EXPECT_EQ(srv.stats().commands, 2U);
}

TEST(RedisProtocol, PipelinedCommandsAreAnsweredInOrderAndAnIncompleteTailWaits) {
    server srv;
    session s(srv);
    const std::string pipeline =
        "SET n 10\r\nINCR n\r\n" + mb({"INCR", "n"}) + "GET n\r\nDEL n\r\nGET n\r\nEXISTS n\r\n";
    const std::string tail = "*2\r\n$3\r\nGET\r\n$1\r\nn";
    const session::processed r = s.process(pipeline + tail);
    EXPECT_EQ(s.out, "+OK\r\n:11\r\n:12\r\n$2\r\n12\r\n:1\r\n$-1\r\n:0\r\n");
    EXPECT_EQ(r.consumed, pipeline.size()) << "the incomplete GET is left for the next read";
    EXPECT_FALSE(r.close);
    EXPECT_FALSE(r.more);
    s.out.clear();
    // Its end arrives: the caller passes what was left plus the new bytes.
    const session::processed rest = s.process(tail + "\r\n");
    EXPECT_EQ(s.out, "$-1\r\n");
    EXPECT_EQ(rest.consumed, tail.size() + 2);
    // An inline line without its newline waits too.
    s.out.clear();
    EXPECT_EQ(s.process("PING").consumed, 0U);
    EXPECT_EQ(s.out, "");
}

/// A pipeline of every kind of request: inline (CRLF and bare LF) and multibulk, binary values,
/// errors that do not close, options, subscribe mode and back.
auto mixed_pipeline() -> std::string {
    std::string p;
    p += "SET greeting hello\r\n";
    p += mb({"SET", "bin", std::string("\0\r\n*$", 5)});
    p += "GET greeting\r\n" + mb({"GET", "bin"});
    p += "INCR n\r\nINCRBY n 41\nDECR n\r\n";
    p += mb({"MSET", "a", "1", "b", "2"}) + "MGET a b nosuch\r\n";
    p += "SET t v EX 100\r\nTTL t\r\nSET t w KEEPTTL GET\r\nTTL t\r\nPERSIST t\r\nTTL t\r\n";
    p += "\r\n*0\r\n";
    p += "GET\r\nNOSUCH x y\r\nINCR greeting\r\n";
    p += "KEYS gr*ng\r\nEXISTS a b c\r\nDEL a b c\r\nDBSIZE\r\n";
    p += "SUBSCRIBE c1 c2\r\nPING\r\nGET a\r\nUNSUBSCRIBE\r\nECHO done\r\n";
    return p;
}

auto mixed_pipeline_replies() -> std::string {
    std::string r;
    r += "+OK\r\n+OK\r\n$5\r\nhello\r\n" + bulk(std::string("\0\r\n*$", 5));
    r += ":1\r\n:42\r\n:41\r\n";
    r += "+OK\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n";
    r += "+OK\r\n:100\r\n$1\r\nv\r\n:100\r\n:1\r\n:-1\r\n";
    r += "-ERR wrong number of arguments for 'get' command\r\n";
    r += "-ERR unknown command 'NOSUCH', with args beginning with: 'x' 'y' \r\n";
    r += "-ERR value is not an integer or out of range\r\n";
    r += "*1\r\n$8\r\ngreeting\r\n:2\r\n:2\r\n:4\r\n";
    r += "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n";
    r += "*2\r\n$4\r\npong\r\n$0\r\n\r\n";
    r += "-ERR Can't execute 'get': " + std::string(subscribe_only) + "\r\n";
    r += "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:1\r\n";
    r += "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:0\r\n";
    r += "$4\r\ndone\r\n";
    return r;
}

TEST(RedisProtocol, PipelinedCommandsSplitAtEveryByteGetTheSameReplies) {
    const std::string p = mixed_pipeline();
    const std::string expected = mixed_pipeline_replies();
    {
        server srv;
        session s(srv);
        EXPECT_EQ(ask(s, p), expected);
    }
    // In two pieces, cut at every byte.
    for (std::size_t cut = 0; cut <= p.size(); ++cut) {
        server srv;
        session s(srv);
        const std::string_view v(p);
        const fed r = feed(s, {v.substr(0, cut), v.substr(cut)});
        ASSERT_EQ(r.out, expected) << "cut at byte " << cut;
        ASSERT_EQ(r.left, 0U);
        ASSERT_FALSE(r.closed);
    }
    // One byte at a time.
    {
        server srv;
        session s(srv);
        std::vector<std::string_view> bytes;
        for (std::size_t i = 0; i < p.size(); ++i) {
            bytes.push_back(std::string_view(p).substr(i, 1));
        }
        EXPECT_EQ(feed(s, bytes).out, expected);
    }
    // In random pieces, with process() stopping after every reply (flush_at 0).
    std::mt19937 rng(2301);
    for (int round = 0; round < 200; ++round) {
        server srv;
        session s(srv);
        std::vector<std::string_view> pieces;
        for (std::size_t at = 0; at < p.size();) {
            const std::size_t n = std::min<std::size_t>(p.size() - at, 1 + rng() % 40);
            pieces.push_back(std::string_view(p).substr(at, n));
            at += n;
        }
        ASSERT_EQ(feed(s, pieces, round % 2 == 0 ? 0 : 64 * 1024).out, expected)
            << "round " << round;
    }
    std::printf("[ pipeline ] %zu bytes, %zu two-piece splits, 201 other splittings: the same "
                "replies\n",
                p.size(), p.size() + 1);
}

TEST(RedisProtocol, AFlushAtLimitStopsAPipelineUntilItsRepliesAreSent) {
    // The server sends `out` whenever it passes flush_at: a pipeline of big replies is run a
    // few commands at a time, so a client that does not read cannot make it grow.
    server srv;
    session s(srv);
    EXPECT_EQ(ask(s, mb({"SET", "big", std::string(100 * 1024, 'x')})), "+OK\r\n");
    std::string pipeline;
    for (int i = 0; i < 5; ++i) {
        pipeline += "GET big\r\n";
    }
    std::string_view in = pipeline;
    int calls = 0;
    for (;;) {
        const session::processed r = s.process(in, 64 * 1024);
        ++calls;
        EXPECT_EQ(r.consumed, 9U) << "one GET per call: its reply passes flush_at";
        EXPECT_EQ(s.out.size(), 100 * 1024 + 11);
        s.out.clear();
        in.remove_prefix(r.consumed);
        EXPECT_EQ(r.more, !in.empty());
        if (!r.more || calls > 10) {
            break;
        }
    }
    EXPECT_EQ(calls, 5);
    EXPECT_TRUE(in.empty());
}

// --- the commands -----------------------------------------------------------------------------

TEST(RedisCommands, SetHonoursExPxNxXxGetAndKeepTtl) {
    on_virtual_clock([]() -> task<void> {
        server srv;
        session s(srv);
        EXPECT_EQ(ask(s, "SET k v\r\nGET k\r\nTTL k\r\n"), "+OK\r\n$1\r\nv\r\n:-1\r\n");
        // NX: only a new key; XX: only an existing one. A refused SET answers nil.
        EXPECT_EQ(ask(s, "SET k other NX\r\nGET k\r\n"), "$-1\r\n$1\r\nv\r\n");
        EXPECT_EQ(ask(s, "SET fresh v nx\r\nGET fresh\r\n"), "+OK\r\n$1\r\nv\r\n");
        EXPECT_EQ(ask(s, "SET nokey v XX\r\nEXISTS nokey\r\n"), "$-1\r\n:0\r\n");
        EXPECT_EQ(ask(s, "SET k v2 XX\r\nGET k\r\n"), "+OK\r\n$2\r\nv2\r\n");
        // GET answers the old value (nil if none) instead of OK, and still sets.
        EXPECT_EQ(ask(s, "SET k v3 GET\r\nGET k\r\n"), "$2\r\nv2\r\n$2\r\nv3\r\n");
        EXPECT_EQ(ask(s, "SET missing v GET\r\nGET missing\r\n"), "$-1\r\n$1\r\nv\r\n");
        EXPECT_EQ(ask(s, "SET k nope NX GET\r\nGET k\r\n"), "$2\r\nv3\r\n$2\r\nv3\r\n");
        // EX and PX count on the loop's clock; KEEPTTL keeps the expiry, a plain SET drops it.
        EXPECT_EQ(ask(s, "SET k v EX 10\r\nTTL k\r\nPTTL k\r\n"), "+OK\r\n:10\r\n:10000\r\n");
        EXPECT_EQ(ask(s, "SET k v px 1500\r\nPTTL k\r\n"), "+OK\r\n:1500\r\n");
        co_await coven::sleep(std::chrono::milliseconds(500));
        EXPECT_EQ(ask(s, "PTTL k\r\nSET k w KEEPTTL\r\nPTTL k\r\n"), ":1000\r\n+OK\r\n:1000\r\n");
        EXPECT_EQ(ask(s, "SET k x\r\nPTTL k\r\n"), "+OK\r\n:-1\r\n");
        EXPECT_EQ(ask(s, "SET k v PX 100\r\n"), "+OK\r\n");
        co_await coven::sleep(std::chrono::milliseconds(99));
        EXPECT_EQ(ask(s, "GET k\r\n"), "$1\r\nv\r\n");
        co_await coven::sleep(std::chrono::milliseconds(1));
        EXPECT_EQ(ask(s, "GET k\r\nEXISTS k\r\n"), "$-1\r\n:0\r\n") << "gone at its deadline";
        // XX on an expired key finds none.
        EXPECT_EQ(ask(s, "SET k v XX\r\n"), "$-1\r\n");
        // Options that conflict or lack their argument; bad times.
        const std::string syntax = "-ERR syntax error\r\n";
        const std::string bad_time = "-ERR invalid expire time in 'set' command\r\n";
        EXPECT_EQ(ask(s, "SET k v NX XX\r\n"), syntax);
        EXPECT_EQ(ask(s, "SET k v EX 10 PX 10\r\n"), syntax);
        EXPECT_EQ(ask(s, "SET k v KEEPTTL EX 10\r\n"), syntax);
        EXPECT_EQ(ask(s, "SET k v EX\r\n"), syntax);
        EXPECT_EQ(ask(s, "SET k v SOON\r\n"), syntax);
        EXPECT_EQ(ask(s, "SET k v EX 0\r\n"), bad_time);
        EXPECT_EQ(ask(s, "SET k v PX -5\r\n"), bad_time);
        EXPECT_EQ(ask(s, "SET k v EX 9223372036854775807\r\n"), bad_time);
        EXPECT_EQ(ask(s, "SET k v PX 9223372036854775807\r\n"), bad_time);
        EXPECT_EQ(ask(s, "SET k v EX ten\r\n"), "-ERR value is not an integer or out of range\r\n");
        EXPECT_EQ(ask(s, "EXISTS k\r\n"), ":0\r\n") << "a refused SET sets nothing";
    });
}

TEST(RedisCommands, CountersStopAtTheEdgesOfInt64AndKeepTheirValue) {
    server srv;
    session s(srv);
    const std::string overflow = "-ERR increment or decrement would overflow\r\n";
    const std::string not_integer = "-ERR value is not an integer or out of range\r\n";
    EXPECT_EQ(ask(s, "SET n 9223372036854775806\r\nINCR n\r\n"), "+OK\r\n:9223372036854775807\r\n");
    EXPECT_EQ(ask(s, "INCR n\r\nINCRBY n 1\r\nGET n\r\n"),
              overflow + overflow + "$19\r\n9223372036854775807\r\n");
    EXPECT_EQ(ask(s, "SET m -9223372036854775808\r\nDECR m\r\nDECRBY m 1\r\nINCRBY m -1\r\n"),
              "+OK\r\n" + overflow + overflow + overflow);
    EXPECT_EQ(ask(s, "DECRBY x -9223372036854775808\r\n"), "-ERR decrement would overflow\r\n");
    EXPECT_EQ(ask(s, "INCRBY x -9223372036854775808\r\nDECRBY y 9223372036854775807\r\n"),
              ":-9223372036854775808\r\n:-9223372036854775807\r\n");
    EXPECT_EQ(ask(s, "INCRBY z 9223372036854775808\r\nINCRBY z 1.5\r\nINCRBY z +1\r\n"),
              not_integer + not_integer + not_integer);
    EXPECT_EQ(ask(s, "SET text abc\r\nINCR text\r\n" + mb({"SET", "sp", " 1"}) + "INCR sp\r\n"),
              "+OK\r\n" + not_integer + "+OK\r\n" + not_integer);
    EXPECT_EQ(ask(s, "EXISTS z\r\n"), ":0\r\n") << "a failed INCRBY makes no key";
    // A counter keeps its key's expiry, as in Redis.
    EXPECT_EQ(ask(s, "SET c 1 EX 100\r\nINCR c\r\nTTL c\r\n"), "+OK\r\n:2\r\n:100\r\n");
}

TEST(RedisCommands, AWrongNumberOfArgumentsIsAnErrorNamingTheCommand) {
    server srv;
    session s(srv);
    const auto arity = [](std::string_view name) {
        return "-ERR wrong number of arguments for '" + std::string(name) + "' command\r\n";
    };
    const std::vector<std::pair<std::string_view, std::string_view>> cases = {
        {"GET\r\n", "get"},
        {"get a b\r\n", "get"},
        {"SET k\r\n", "set"},
        {"ECHO\r\n", "echo"},
        {"DBSIZE x\r\n", "dbsize"},
        {"MSET a\r\n", "mset"},
        {"MSET a b c\r\n", "mset"},
        {"PING a b\r\n", "ping"},
        {"INCRBY k\r\n", "incrby"},
        {"TTL\r\n", "ttl"},
        {"KEYS\r\n", "keys"},
        {"PUBLISH ch\r\n", "publish"},
        {"SUBSCRIBE\r\n", "subscribe"},
        {"SELECT\r\n", "select"},
        {"DEL\r\n", "del"},
        {"EXPIRE k\r\n", "expire"},
        {"CONFIG\r\n", "config"},
        {"PERSIST\r\n", "persist"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(ask(s, c.first), arity(c.second)) << shown(c.first);
    }
    EXPECT_EQ(ask(s, "PING\r\n"), "+PONG\r\n") << "the connection goes on";
    EXPECT_EQ(srv.stats().protocol_errors, 0U);
}

TEST(RedisCommands, AnUnknownCommandIsAnErrorQuotingItsNameAndFirstArguments) {
    server srv;
    session s(srv);
    EXPECT_EQ(ask(s, "FOO a b\r\n"),
              "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    EXPECT_EQ(ask(s, "GETX\r\n"), "-ERR unknown command 'GETX', with args beginning with: \r\n");
    // A name longer than any command's, and past 128 bytes: the quote is cut at 128.
    const std::string longname(200, 'z');
    EXPECT_EQ(ask(s, longname + "\r\n"), "-ERR unknown command '" + std::string(128, 'z') +
                                             "', with args beginning with: \r\n");
    // Line breaks in the quoted text would break the reply's line: they become blanks.
    const fed r = feed(s, mb({"NO\r\nPE", "a\nb"}));
    EXPECT_EQ(r.out, "-ERR unknown command 'NO  PE', with args beginning with: 'a b' \r\n");
    ASSERT_TRUE(split_replies(r.out).has_value());
    EXPECT_FALSE(r.closed);
}

// --- pub/sub ----------------------------------------------------------------------------------

TEST(RedisPubSub, ASubscriberMayRunOnlyPubSubCommandsPingAndQuit) {
    server srv;
    session sub(srv);
    session pub(srv);
    EXPECT_EQ(ask(sub, "SUBSCRIBE news\r\n"), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    EXPECT_EQ(sub.subscriptions(), 1U);
    for (const std::string_view refused : {"GET k\r\n", "SET k v\r\n", "PUBLISH news x\r\n",
                                           "ECHO x\r\n", "DBSIZE\r\n", "KEYS *\r\n"}) {
        const std::string name(refused.substr(0, refused.find(' ') == std::string_view::npos
                                                     ? refused.find('\r')
                                                     : refused.find(' ')));
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        EXPECT_EQ(ask(sub, refused),
                  "-ERR Can't execute '" + lower + "': " + std::string(subscribe_only) + "\r\n");
    }
    // PING answers in a message's shape.
    EXPECT_EQ(ask(sub, "PING\r\nPING hi\r\n"),
              "*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    // Another client publishes: the subscriber is handed the message.
    EXPECT_EQ(ask(pub, "PUBLISH news hello\r\nPUBLISH nobody x\r\n"), ":1\r\n:0\r\n");
    EXPECT_EQ(sub.out, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    sub.out.clear();
    // Back out of subscribe mode: every command again.
    EXPECT_EQ(ask(sub, "UNSUBSCRIBE\r\nGET k\r\n"),
              "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n$-1\r\n");
    EXPECT_EQ(ask(pub, "PUBLISH news again\r\n"), ":0\r\n");
    EXPECT_EQ(sub.out, "");
    // QUIT is allowed there, and closes.
    EXPECT_EQ(ask(sub, "SUBSCRIBE a b\r\n").size(), 2 * 30U);
    const fed quit = feed(sub, "QUIT\r\nPING\r\n");
    EXPECT_EQ(quit.out, "+OK\r\n");
    EXPECT_TRUE(quit.closed);
    {
        session gone(srv);
        EXPECT_EQ(ask(gone, "SUBSCRIBE a\r\n").size(), 30U);
        EXPECT_EQ(ask(pub, "PUBLISH a x\r\n"), ":2\r\n");
    }
    EXPECT_EQ(ask(pub, "PUBLISH a x\r\n"), ":1\r\n") << "a session gone is unsubscribed";
}

// --- request limits ---------------------------------------------------------------------------

auto small_limits() -> server_options {
    server_options o;
    o.limits.max_request = 1024;
    o.limits.max_inline = 64;
    o.limits.max_args = 8;
    return o;
}

/// Feeds `input` to a fresh session under small_limits(): what it says, which must close.
auto refused(std::string_view input) -> std::string {
    server srv(small_limits());
    session s(srv);
    const fed r = feed(s, input);
    EXPECT_TRUE(r.closed) << shown(input);
    EXPECT_EQ(srv.stats().protocol_errors, r.closed ? 1U : 0U);
    return r.out;
}

/// Feeds `input` to a fresh session under small_limits(): it waits for more, and says nothing.
auto waits(std::string_view input) -> bool {
    server srv(small_limits());
    session s(srv);
    const fed r = feed(s, input);
    return !r.closed && r.out.empty() && r.left == input.size();
}

TEST(RedisLimits, ABulkLengthPastMaxRequestIsAProtocolErrorThatCloses) {
    EXPECT_EQ(refused("*1\r\n$1025\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_TRUE(waits("*1\r\n$1000\r\n")) << "within the limit it waits for the data";
    // The replies before the bad request are kept; the bytes after it are never run.
    EXPECT_EQ(refused("PING\r\n*2\r\n$4\r\nECHO\r\n$99999999999\r\nPING\r\n"),
              "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_EQ(refused("*1\r\n$-1\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
    // The limit is on the whole request: bulks that each fit may not add up past it.
    const std::string fits = "*2\r\n$4\r\nECHO\r\n$1000\r\n" + std::string(1000, 'e') + "\r\n";
    {
        server srv(small_limits());
        session s(srv);
        EXPECT_EQ(ask(s, fits), bulk(std::string(1000, 'e')));
    }
    EXPECT_EQ(refused("*2\r\n$4\r\nECHO\r\n$1010\r\n"), "-ERR Protocol error: request too big\r\n");
    EXPECT_EQ(refused("*1\r\n$3\r\nabcX\r\n"),
              "-ERR Protocol error: bulk string not followed by CRLF\r\n");
    EXPECT_EQ(refused("*1\r\nPING\r\n"), "-ERR Protocol error: expected '$', got 'P'\r\n");
}

TEST(RedisLimits, AnInlineLinePastMaxInlineIsAProtocolErrorThatCloses) {
    EXPECT_TRUE(waits(std::string(64, 'a'))) << "64 bytes and no newline: still within";
    EXPECT_EQ(refused(std::string(65, 'a')), "-ERR Protocol error: too big inline request\r\n");
    EXPECT_EQ(refused(std::string(100, 'a') + "\r\n"),
              "-ERR Protocol error: too big inline request\r\n");
    // A `*` or `$` header line without its end is held to the same limit.
    EXPECT_EQ(refused("*" + std::string(70, '1')),
              "-ERR Protocol error: too big mbulk count string\r\n");
    EXPECT_EQ(refused("*1\r\n$" + std::string(70, '1')),
              "-ERR Protocol error: too big bulk count string\r\n");
}

TEST(RedisLimits, AMultibulkCountPastMaxArgsIsAProtocolErrorThatCloses) {
    EXPECT_EQ(refused("*9\r\n"), "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_EQ(refused("*99999999999999999999\r\n"),
              "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_TRUE(waits("*8\r\n"));
    EXPECT_EQ(refused("a b c d e f g h i\r\n"),
              "-ERR Protocol error: invalid multibulk length\r\n");
    // A count that is not a number is named as Redis names it.
    EXPECT_EQ(refused("*x\r\n"), "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_EQ(refused("*1\r\n$x\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
}

// --- glob patterns ----------------------------------------------------------------------------

TEST(RedisGlob, MatchesStarsQuestionMarksClassesRangesAndEscapes) {
    struct match_case {
        std::string_view pattern;
        std::string_view text;
        bool matches;
    };
    const std::vector<match_case> cases = {
        {"*", "", true},
        {"*", "anything", true},
        {"", "", true},
        {"", "a", false},
        {"h?llo", "hello", true},
        {"h?llo", "hllo", false},
        {"h*llo", "hllo", true},
        {"h*llo", "heeeello", true},
        {"h*llo", "hellox", false},
        {"h[ae]llo", "hello", true},
        {"h[ae]llo", "hallo", true},
        {"h[ae]llo", "hillo", false},
        {"h[^e]llo", "hallo", true},
        {"h[^e]llo", "hello", false},
        {"h[a-b]llo", "hbllo", true},
        {"h[a-b]llo", "hcllo", false},
        {"[z-a]", "m", true}, // a range written backwards
        {"[a-]", "-", true},  // a '-' before the ']' is itself
        {"h\\*llo", "h*llo", true},
        {"h\\*llo", "hello", false},
        {"\\?", "?", true},
        {"\\?", "a", false},
        {"[\\]]", "]", true},
        {"[\\^a]", "^", true},
        {"H*", "hello", false},
        {"*a", "aaa", true},
        {"a*b*c", "abxbxc", true},
        {"a*b*c", "abxbx", false},
        {"*?", "", false},
        {"?*", "x", true},
        {"user:*:name", "user:42:name", true},
        {"user:*:name", "user:42:nam", false},
        {"*[0-9]", "key7", true},
        {"*[0-9]", "key", false},
    };
    for (const match_case& c : cases) {
        EXPECT_EQ(coven_redis::glob_match(c.pattern, c.text), c.matches)
            << "'" << c.pattern << "' against '" << c.text << "'";
    }
}

TEST(RedisGlob, PatternsWithManyStarsEndQuicklyOnLongTexts) {
    // A backtracking matcher takes exponential time on these; glob_match() retries from the
    // last star only, O(pattern * text) at worst.
    const std::string text(100000, 'a');
    std::string many_stars;
    for (int i = 0; i < 30; ++i) {
        many_stars += "*a";
    }
    const std::vector<std::string> patterns = {
        "a*a*a*a*a*b",       many_stars + "*b",   "*" + std::string(20, 'a') + "b",
        "*[a]*[a]*[a]*[^a]", "?*?*?*?*?*?*?*?*b", "*\\a*\\a*\\a*c"};
    for (const std::string& p : patterns) {
        const auto t0 = steady_clock::now();
        EXPECT_FALSE(coven_redis::glob_match(p, text)) << p;
        const double ms =
            std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count();
        EXPECT_LT(ms, 2000.0) << p;
        std::printf("[ glob ] %-40.40s against 100,000 bytes: %.2f ms\n", p.c_str(), ms);
    }
    EXPECT_TRUE(coven_redis::glob_match(many_stars, text));
    // Through KEYS, a client's pattern against a long key.
    server srv;
    session s(srv);
    EXPECT_EQ(ask(s, mb({"SET", text, "v"}) + "KEYS a*a*a*a*a*b\r\nKEYS a*a*a*a*a\r\n"),
              "+OK\r\n*0\r\n*1\r\n" + bulk(text));
}

} // namespace
