// coven_redis (examples/net/coven_redis/) in-process. First a session fed directly, with no
// socket: inline and multibulk requests, pipelining, every split of a pipeline, SET's options,
// counters at the edges of int64, arity, unknown commands, subscribe mode, the request limits,
// glob patterns, and a seeded fuzz of malformed pipelines whose replies a parser of this file
// checks. Then the server on loopback: mutated pipelines over sockets, a thousand slowloris
// clients beside one that pings, peers that reset mid-reply, half-close, subscribe or pipeline
// and never read, max_clients, and keys that expire on the real clock. Every test leaves no task,
// timer, socket or fd behind (tests/support/test_main.cpp checks).
#include "glob.hpp"
#include "resp.hpp"
#include "server.hpp"

#include <coven/coven.hpp>
#include <coven/net.hpp>

#include "net_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace coven_test;
using coven::task;
using coven_redis::server;
using coven_redis::server_options;
using coven_redis::session;
namespace net = coven::net;
using std::chrono::steady_clock;

namespace {

// --- a RESP2 reply parser that checks every byte ----------------------------------------------

enum class scan { complete, incomplete, invalid };

struct scanned {
    scan status = scan::invalid;
    std::size_t end = 0; ///< just past the reply, when complete
};

auto scan_number(std::string_view text, std::int64_t& n) -> bool {
    if (text.empty() || text[0] == '+') {
        return false;
    }
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

/// The reply starting at `pos`: `+line`, `-line` (not empty), `:n`, `$len` + data or `$-1`,
/// `*n` + n replies or `*-1`; a line holds no CR or LF but its final CRLF.
auto scan_reply(std::string_view in, std::size_t pos, int depth = 0) -> scanned {
    if (pos >= in.size()) {
        return {scan::incomplete};
    }
    const char type = in[pos];
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
        return {scan::invalid};
    }
    const std::size_t eol = in.find_first_of("\r\n", pos + 1);
    if (eol == std::string_view::npos) {
        return {scan::incomplete};
    }
    if (in[eol] == '\n') {
        return {scan::invalid}; // a bare LF inside a line
    }
    if (eol + 1 == in.size()) {
        return {scan::incomplete};
    }
    if (in[eol + 1] != '\n') {
        return {scan::invalid};
    }
    const std::string_view line = in.substr(pos + 1, eol - pos - 1);
    const std::size_t next = eol + 2;
    if (type == '+') {
        return {scan::complete, next};
    }
    if (type == '-') {
        return line.empty() ? scanned{scan::invalid} : scanned{scan::complete, next};
    }
    std::int64_t n = 0;
    if (!scan_number(line, n)) {
        return {scan::invalid};
    }
    if (type == ':' || n == -1) {
        return {scan::complete, next};
    }
    if (n < -1) {
        return {scan::invalid};
    }
    if (type == '$') {
        const auto length = static_cast<std::size_t>(n);
        if (in.size() - next < length + 2) {
            if (in.size() - next > length && in[next + length] != '\r') {
                return {scan::invalid};
            }
            return {scan::incomplete};
        }
        if (in[next + length] != '\r' || in[next + length + 1] != '\n') {
            return {scan::invalid};
        }
        return {scan::complete, next + length + 2};
    }
    if (depth >= 8) {
        return {scan::invalid};
    }
    std::size_t at = next;
    for (std::int64_t i = 0; i < n; ++i) {
        const scanned element = scan_reply(in, at, depth + 1);
        if (element.status != scan::complete) {
            return element;
        }
        at = element.end;
    }
    return {scan::complete, at};
}

/// The replies `out` is made of; none if it is not whole, well-formed replies.
auto split_replies(std::string_view out) -> std::optional<std::vector<std::string_view>> {
    std::vector<std::string_view> replies;
    std::size_t at = 0;
    while (at < out.size()) {
        const scanned r = scan_reply(out, at);
        if (r.status != scan::complete) {
            return std::nullopt;
        }
        replies.push_back(out.substr(at, r.end - at));
        at = r.end;
    }
    return replies;
}

/// Whether `data` is well-formed replies, the last of which may be cut short.
auto is_reply_prefix(std::string_view data) -> bool {
    std::size_t at = 0;
    while (at < data.size()) {
        const scanned r = scan_reply(data, at);
        if (r.status == scan::invalid) {
            return false;
        }
        if (r.status == scan::incomplete) {
            return true;
        }
        at = r.end;
    }
    return true;
}

/// `s` for a failure message: escaped, and cut at 300 bytes.
auto shown(std::string_view s) -> std::string {
    std::string r;
    for (const char c : s.substr(0, 300)) {
        if (c == '\r') {
            r += "\\r";
        } else if (c == '\n') {
            r += "\\n";
        } else if (c >= 32 && c < 127) {
            r += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
            r += hex;
        }
    }
    if (s.size() > 300) {
        r += "... (" + std::to_string(s.size()) + " bytes)";
    }
    return r;
}

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

// --- feeding a session ------------------------------------------------------------------------

/// A request in the multibulk encoding.
auto mb(const std::vector<std::string>& args) -> std::string {
    std::string r;
    const auto header = [&r](char type, std::size_t n) {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
        r += type;
        r.append(digits, end);
        r += "\r\n";
    };
    header('*', args.size());
    for (const std::string& a : args) {
        header('$', a.size());
        r += a;
        r += "\r\n";
    }
    return r;
}

struct fed {
    std::string out;       ///< every reply, in order
    bool closed = false;   ///< process() said to close
    std::size_t left = 0;  ///< input bytes not consumed (an incomplete command, or after a close)
    std::size_t calls = 0; ///< process() calls
};

/// Feeds `pieces` to `s` one after the other as a connection's reads would: what a call leaves
/// unconsumed waits for the next piece, and process() is called again while it says `more`.
auto feed(session& s, const std::vector<std::string_view>& pieces, std::size_t flush_at = 64 * 1024)
    -> fed {
    fed result;
    std::string buffer; // buffer[begin, end) waits for the rest of its command
    std::size_t begin = 0;
    for (const std::string_view piece : pieces) {
        buffer.append(piece);
        for (;;) {
            const session::processed r =
                s.process(std::string_view(buffer).substr(begin), flush_at);
            result.calls += 1;
            begin += r.consumed;
            result.out += s.out;
            s.out.clear();
            if (r.close) {
                result.closed = true;
                result.left = buffer.size() - begin;
                return result;
            }
            if (!r.more) {
                break;
            }
            if (r.consumed == 0) {
                ADD_FAILURE() << "process() asked to be called again but consumed nothing";
                break;
            }
        }
        if (begin == buffer.size()) {
            buffer.clear();
            begin = 0;
        }
    }
    result.left = buffer.size() - begin;
    return result;
}

auto feed(session& s, std::string_view input) -> fed {
    return feed(s, std::vector<std::string_view>{input});
}

/// The replies to `input` (which must not make the session close).
auto ask(session& s, std::string_view input) -> std::string {
    const fed r = feed(s, input);
    EXPECT_FALSE(r.closed) << shown(input);
    EXPECT_EQ(r.left, 0U) << shown(input);
    return r.out;
}

/// Runs `body()` on a loop with the virtual clock: a session's time is then the loop's, which
/// moves only when every task sleeps.
template <class Body>
void on_virtual_clock(Body body) {
    coven::event_loop loop(virtual_options());
    loop.run_until_complete(body());
}

auto bulk(std::string_view s) -> std::string {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
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

// --- a fuzz of malformed pipelines ------------------------------------------------------------

auto pick(std::mt19937& rng, std::size_t n) -> std::size_t {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

auto chance(std::mt19937& rng, std::size_t percent) -> bool {
    return pick(rng, 100) < percent;
}

// Bytes that matter to the parser, more often than others.
const std::string interesting_bytes("\r\n*$:+-0123456789 \t\0", 20);

auto random_value(std::mt19937& rng) -> std::string {
    switch (pick(rng, 7)) {
    case 0:
        return std::to_string(static_cast<int>(pick(rng, 200)) - 100);
    case 1:
        return "9223372036854775807";
    case 2:
        return "hello";
    case 3: {
        std::string b(pick(rng, 40), '\0');
        for (char& c : b) {
            c = static_cast<char>(rng());
        }
        return b;
    }
    case 4:
        // Near and past the small limits (512 inline, 4096 a request); past the request limit
        // rarely, as such a value makes the rest of the pipeline moot.
        return std::string(chance(rng, 20) ? pick(rng, 5000) : pick(rng, 700), 'v');
    case 5:
        return "";
    default:
        return "a b";
    }
}

auto random_key(std::mt19937& rng) -> std::string {
    static const char* const keys[] = {"k", "n", "counter", "big", "user:1", "user:2", "a b", "x"};
    return keys[pick(rng, std::size(keys))];
}

auto random_channel(std::mt19937& rng) -> std::string {
    static const char* const channels[] = {"ch", "news", "other"};
    return channels[pick(rng, std::size(channels))];
}

/// A valid command. `stable`: none whose replies depend on time or on the server's counters
/// (so a server on the real clock and a session fed the same input answer alike).
auto random_command(std::mt19937& rng, bool stable) -> std::vector<std::string> {
    for (;;) {
        switch (pick(rng, 30)) {
        case 0:
            return {"PING"};
        case 1:
            return {"PING", random_value(rng)};
        case 2:
            return {"ECHO", random_value(rng)};
        case 3:
        case 4:
            return {"GET", random_key(rng)};
        case 5:
        case 6: {
            std::vector<std::string> set = {"SET", random_key(rng), random_value(rng)};
            // The stable ones first: none with a number a mutation could make a real time.
            static const char* const options[] = {"NX", "XX",    "GET",      "KEEPTTL",
                                                  "nx", "EX 0",  "EX ten",   "EX 100",
                                                  "EX", "PX -1", "PX 100000"};
            for (std::size_t n = pick(rng, 3); n > 0; --n) {
                const std::string_view o = options[pick(rng, stable ? 5 : std::size(options))];
                const std::size_t sp = o.find(' ');
                set.emplace_back(o.substr(0, sp));
                if (sp != std::string_view::npos) {
                    set.emplace_back(o.substr(sp + 1));
                }
            }
            return set;
        }
        case 7:
            return {"DEL", random_key(rng), random_key(rng)};
        case 8:
            return {"EXISTS", random_key(rng)};
        case 9:
            return {"INCR", random_key(rng)};
        case 10:
            return {"INCRBY", random_key(rng), random_value(rng)};
        case 11:
            return {"DECRBY", random_key(rng), random_value(rng)};
        case 12:
            return {"MGET", random_key(rng), random_key(rng), random_key(rng)};
        case 13:
            return {"MSET", random_key(rng), random_value(rng), random_key(rng), random_value(rng)};
        case 14:
            if (stable) {
                continue;
            }
            return {"EXPIRE", random_key(rng), "100"};
        case 15:
            if (stable) {
                continue;
            }
            return {"PEXPIRE", random_key(rng), "100000", "GT"};
        case 16:
            if (stable) {
                continue;
            }
            return {pick(rng, 2) == 0 ? "TTL" : "PTTL", random_key(rng)};
        case 17:
            if (stable) {
                continue;
            }
            return {"PERSIST", random_key(rng)};
        case 18:
            return {"DBSIZE"};
        case 19:
            return {"FLUSHALL"};
        case 20: {
            static const char* const patterns[] = {"*", "user:*", "[a-k]", "?", "*[^x]"};
            return {"KEYS", patterns[pick(rng, std::size(patterns))]};
        }
        case 21:
        case 22:
            return {"PUBLISH", random_channel(rng), random_value(rng)};
        case 23:
            return {"SUBSCRIBE", random_channel(rng), random_channel(rng)};
        case 24:
            return {"UNSUBSCRIBE"};
        case 25:
            return {"CONFIG", "GET", pick(rng, 2) == 0 ? "*" : "max*"};
        case 26: {
            static const std::vector<std::vector<std::string>> commands = {
                {"COMMAND"},
                {"COMMAND", "COUNT"},
                {"COMMAND", "INFO", "get", "nosuch"},
                {"COMMAND", "DOCS"},
                {"COMMAND", "NOPE"}};
            return commands[pick(rng, commands.size())];
        }
        case 27:
            if (stable) {
                continue;
            }
            return {"INFO"};
        case 28:
            return {"SELECT", pick(rng, 2) == 0 ? "0" : "x"};
        default:
            return {pick(rng, 2) == 0 ? "NOSUCH" : "GET", random_value(rng)};
        }
    }
}

auto encode(const std::vector<std::string>& args, std::mt19937& rng) -> std::string {
    bool can_inline = args[0][0] != '*';
    for (const std::string& a : args) {
        can_inline = can_inline && !a.empty() && a.find_first_of(" \t\r\n") == std::string::npos;
    }
    if (!can_inline || chance(rng, 70)) {
        return mb(args);
    }
    std::string line;
    for (const std::string& a : args) {
        line += (line.empty() ? "" : " ") + a;
    }
    return line + (chance(rng, 70) ? "\r\n" : "\n");
}

auto random_pipeline(std::mt19937& rng, bool stable) -> std::string {
    std::string p;
    for (std::size_t n = 1 + pick(rng, 6); n > 0; --n) {
        p += encode(random_command(rng, stable), rng);
    }
    return p;
}

/// Gives a `*n` or `$n` header of `s` another number.
void renumber(std::string& s, std::mt19937& rng) {
    std::vector<std::size_t> heads;
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        if ((s[i] == '*' || s[i] == '$') &&
            ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '-')) {
            heads.push_back(i + 1);
        }
    }
    if (heads.empty()) {
        return;
    }
    const std::size_t at = heads[pick(rng, heads.size())];
    std::size_t end = at + (s[at] == '-' ? 1 : 0);
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') {
        ++end;
    }
    std::int64_t old = 0;
    (void)std::from_chars(s.data() + at, s.data() + end, old);
    old = std::clamp<std::int64_t>(old, -1000000, 1000000);
    static const char* const numbers[] = {
        "-1",   "-2",  "0",  "1",       "2", "99999999999999999999", "9223372036854775807",
        "4097", "513", "65", "1048577", "",  "-9223372036854775808", "00000000000000000001"};
    std::string n;
    switch (pick(rng, 4)) {
    case 0:
        n = numbers[pick(rng, std::size(numbers))];
        break;
    case 1:
        n = std::to_string(old + 1);
        break;
    case 2:
        n = std::to_string(old - 1);
        break;
    default:
        n = std::to_string(pick(rng, 100000));
    }
    s.replace(at, end - at, n);
}

auto mutate_once(std::string s, std::mt19937& rng, const std::string& donor) -> std::string {
    const auto some_byte = [&rng] {
        return chance(rng, 50) ? interesting_bytes[pick(rng, interesting_bytes.size())]
                               : static_cast<char>(rng());
    };
    switch (pick(rng, 10)) {
    case 0: // overwrite a byte
        if (!s.empty()) {
            s[pick(rng, s.size())] = some_byte();
        }
        break;
    case 1: // flip a bit
        if (!s.empty()) {
            const std::size_t at = pick(rng, s.size());
            s[at] = static_cast<char>(s[at] ^ (1 << pick(rng, 8)));
        }
        break;
    case 2: { // insert bytes (a draw per statement: a call's arguments are unsequenced)
        const std::size_t at = pick(rng, s.size() + 1);
        const std::size_t n = 1 + pick(rng, 3);
        s.insert(at, n, some_byte());
        break;
    }
    case 3: // delete a byte
        if (!s.empty()) {
            s.erase(pick(rng, s.size()), 1);
        }
        break;
    case 4: // delete a run
        if (!s.empty()) {
            const std::size_t at = pick(rng, s.size());
            s.erase(at, 1 + pick(rng, 16));
        }
        break;
    case 5: // change a length or a count
        renumber(s, rng);
        break;
    case 6: // truncate
        s.resize(pick(rng, s.size() + 1));
        break;
    case 7: // splice in a piece of another pipeline
        if (!donor.empty()) {
            const std::size_t from = pick(rng, donor.size());
            const std::size_t n = 1 + pick(rng, std::min<std::size_t>(64, donor.size() - from));
            s.insert(pick(rng, s.size() + 1), donor, from, n);
        }
        break;
    case 8: // repeat a run
        if (!s.empty()) {
            const std::size_t from = pick(rng, s.size());
            const std::string run = s.substr(from, 1 + pick(rng, 32));
            s.insert(pick(rng, s.size() + 1), run);
        }
        break;
    default: { // break a line end
        std::vector<std::size_t> ends;
        for (std::size_t i = s.find("\r\n"); i != std::string::npos; i = s.find("\r\n", i + 1)) {
            ends.push_back(i);
        }
        if (!ends.empty()) {
            static const char* const breaks[] = {"\n", "\r", "\n\r", "\r\r\n", "", "\r\n\r\n"};
            const std::size_t at = ends[pick(rng, ends.size())];
            s.replace(at, 2, breaks[pick(rng, std::size(breaks))]);
        }
    }
    }
    return s;
}

/// One fuzz input: random bytes, a valid pipeline, or (mostly) a mutated one, which may have
/// pieces of `donor` (the previous valid pipeline) spliced in.
auto fuzz_input(std::mt19937& rng, bool stable, std::string& donor) -> std::string {
    const std::size_t kind = pick(rng, 100);
    if (kind < 10) {
        std::string s(pick(rng, 200), '\0');
        for (char& c : s) {
            c = chance(rng, 60) ? interesting_bytes[pick(rng, interesting_bytes.size())]
                                : static_cast<char>(rng());
        }
        return s;
    }
    std::string s = random_pipeline(rng, stable);
    if (kind < 20) {
        donor = s;
        return s;
    }
    std::string mutated = s;
    for (std::size_t n = 1 + pick(rng, 4); n > 0; --n) {
        mutated = mutate_once(std::move(mutated), rng, donor);
    }
    donor = std::move(s);
    return mutated;
}

auto contains_quit(std::string_view s) -> bool {
    for (std::size_t i = 0; i + 4 <= s.size(); ++i) {
        std::string w(s.substr(i, 4));
        std::transform(w.begin(), w.end(), w.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        if (w == "quit") {
            return true;
        }
    }
    return false;
}

/// What a fed session said is well-formed replies, and a close comes after an error (or after
/// the +OK of a QUIT). Empty if so, else what is wrong.
auto check_replies(const fed& r, std::string_view input) -> std::string {
    const auto replies = split_replies(r.out);
    if (!replies) {
        return "malformed replies: " + shown(r.out);
    }
    if (r.closed) {
        if (replies->empty()) {
            return "closed without a reply";
        }
        const std::string_view last = replies->back();
        if (last[0] != '-' && !(last == "+OK\r\n" && contains_quit(input))) {
            return "closed after a reply that is not an error: " + shown(last);
        }
    }
    return {};
}

TEST(RedisFuzz, MalformedPipelinesGetWellFormedRepliesTheSameInAnyPiecesAndAnErrorBeforeAClose) {
    // Each input goes to two servers alike: whole to one, in random pieces (and with random
    // flush_at) to the other; both must say the same, in well-formed RESP2. Time stands still
    // (the virtual clock), so the two can be compared byte for byte.
    constexpr int inputs = 100000;
    constexpr int per_server = 1000;
    std::mt19937 rng(0xC0FE);
    std::uint64_t bytes = 0;
    std::uint64_t closes = 0;
    std::uint64_t commands = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t reply_bytes = 0;
    std::uint64_t delivered = 0;
    int failures = 0;
    std::string donor;
    const auto t0 = steady_clock::now();
    on_virtual_clock([&]() -> task<void> {
        for (int batch = 0; batch < inputs / per_server && failures < 5; ++batch) {
            // Three batches in four under small limits, so that inputs run into them.
            server_options o;
            if (batch % 4 != 3) {
                o.limits.max_request = 4096;
                o.limits.max_inline = 512;
                o.limits.max_args = 64;
            }
            o.output_limit = 64 * 1024;
            server whole_server(o);
            server pieces_server(o);
            // A subscriber on each, handed what the inputs publish.
            session whole_sub(whole_server);
            session pieces_sub(pieces_server);
            EXPECT_EQ(ask(whole_sub, "SUBSCRIBE ch news\r\n"),
                      ask(pieces_sub, "SUBSCRIBE ch news\r\n"));
            for (int i = 0; i < per_server && failures < 5; ++i) {
                const std::string input = fuzz_input(rng, false, donor);
                bytes += input.size();
                session a(whole_server);
                const fed whole = feed(a, input);
                std::vector<std::string_view> pieces;
                // Byte by byte (the worst case: every call parses again) for short inputs.
                const std::size_t most =
                    input.size() < 600 && chance(rng, 5) ? 1 : 1 + pick(rng, 64);
                for (std::size_t at = 0; at < input.size();) {
                    const std::size_t n = 1 + pick(rng, std::min(most, input.size() - at));
                    pieces.push_back(std::string_view(input).substr(at, n));
                    at += n;
                }
                static const std::size_t flush_ats[] = {0, 1, 100, 64 * 1024};
                session b(pieces_server);
                const fed in_pieces = feed(b, pieces, flush_ats[pick(rng, std::size(flush_ats))]);
                std::string wrong = check_replies(whole, input);
                if (wrong.empty() &&
                    (in_pieces.out != whole.out || in_pieces.closed != whole.closed)) {
                    wrong = "in pieces: " + shown(in_pieces.out) +
                            (in_pieces.closed ? " (closed)" : "") + "\nwhole: " + shown(whole.out) +
                            (whole.closed ? " (closed)" : "");
                }
                if (wrong.empty() && whole_sub.out != pieces_sub.out) {
                    wrong = "the subscribers were handed different messages";
                }
                if (wrong.empty() && !split_replies(whole_sub.out)) {
                    wrong = "malformed messages: " + shown(whole_sub.out);
                }
                if (!wrong.empty()) {
                    ADD_FAILURE() << "input " << batch * per_server + i << " " << shown(input)
                                  << "\n"
                                  << wrong;
                    ++failures;
                }
                closes += whole.closed ? 1 : 0;
                reply_bytes += whole.out.size();
                delivered += whole_sub.out.size();
                whole_sub.out.clear();
                pieces_sub.out.clear();
            }
            commands += whole_server.stats().commands;
            protocol_errors += whole_server.stats().protocol_errors;
            EXPECT_EQ(whole_server.stats().commands, pieces_server.stats().commands);
            EXPECT_EQ(whole_server.stats().protocol_errors, pieces_server.stats().protocol_errors);
        }
        co_return;
    });
    const double s = std::chrono::duration<double>(steady_clock::now() - t0).count();
    std::printf(
        "[ fuzz ] %d inputs, %llu bytes, %llu commands run, %llu protocol errors, %llu "
        "closes, %llu reply bytes, %llu message bytes, %.2f s\n",
        inputs, static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(commands),
        static_cast<unsigned long long>(protocol_errors), static_cast<unsigned long long>(closes),
        static_cast<unsigned long long>(reply_bytes), static_cast<unsigned long long>(delivered),
        s);
    RecordProperty("inputs", inputs);
    RecordProperty("protocol_errors", static_cast<int>(protocol_errors));
    // The inputs reach every outcome, or the fuzz tests less than it says.
    EXPECT_GT(protocol_errors, static_cast<std::uint64_t>(inputs / 10));
    EXPECT_GT(commands, static_cast<std::uint64_t>(inputs));
    EXPECT_GT(delivered, 0U);
}

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
