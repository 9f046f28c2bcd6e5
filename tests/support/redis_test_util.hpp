#pragma once
// Helpers shared by the coven_redis tests (redis_protocol_test, redis_fuzz_test,
// redis_server_test): a RESP2 reply parser that checks every byte, the helpers that feed a
// session as a connection's reads would, and the generators of the seeded fuzz's random,
// valid and mutated pipelines.

#include "server.hpp"

#include <coven/coven.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redis_test {

using coven_redis::session;

// --- a RESP2 reply parser that checks every byte ----------------------------------------------

enum class scan { complete, incomplete, invalid };

struct scanned {
    scan status = scan::invalid;
    std::size_t end = 0; ///< just past the reply, when complete
};

inline auto scan_number(std::string_view text, std::int64_t& n) -> bool {
    if (text.empty() || text[0] == '+') {
        return false;
    }
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

/// The reply starting at `pos`: `+line`, `-line` (not empty), `:n`, `$len` + data or `$-1`,
/// `*n` + n replies or `*-1`; a line holds no CR or LF but its final CRLF.
inline auto scan_reply(std::string_view in, std::size_t pos, int depth = 0) -> scanned {
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
inline auto split_replies(std::string_view out) -> std::optional<std::vector<std::string_view>> {
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
inline auto is_reply_prefix(std::string_view data) -> bool {
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
inline auto shown(std::string_view s) -> std::string {
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

// --- feeding a session ------------------------------------------------------------------------

/// A request in the multibulk encoding.
inline auto mb(const std::vector<std::string>& args) -> std::string {
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
inline auto feed(session& s, const std::vector<std::string_view>& pieces,
                 std::size_t flush_at = 64 * 1024) -> fed {
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

inline auto feed(session& s, std::string_view input) -> fed {
    return feed(s, std::vector<std::string_view>{input});
}

/// The replies to `input` (which must not make the session close).
inline auto ask(session& s, std::string_view input) -> std::string {
    const fed r = feed(s, input);
    EXPECT_FALSE(r.closed) << shown(input);
    EXPECT_EQ(r.left, 0U) << shown(input);
    return r.out;
}

/// Runs `body()` on a loop with the virtual clock: a session's time is then the loop's, which
/// moves only when every task sleeps.
template <class Body>
void on_virtual_clock(Body body) {
    coven::event_loop loop(coven_test::virtual_options());
    loop.run_until_complete(body());
}

inline auto bulk(std::string_view s) -> std::string {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// --- a fuzz of malformed pipelines ------------------------------------------------------------

inline auto pick(std::mt19937& rng, std::size_t n) -> std::size_t {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

inline auto chance(std::mt19937& rng, std::size_t percent) -> bool {
    return pick(rng, 100) < percent;
}

// Bytes that matter to the parser, more often than others.
inline const std::string interesting_bytes("\r\n*$:+-0123456789 \t\0", 20);

inline auto random_value(std::mt19937& rng) -> std::string {
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

inline auto random_key(std::mt19937& rng) -> std::string {
    static const char* const keys[] = {"k", "n", "counter", "big", "user:1", "user:2", "a b", "x"};
    return keys[pick(rng, std::size(keys))];
}

inline auto random_channel(std::mt19937& rng) -> std::string {
    static const char* const channels[] = {"ch", "news", "other"};
    return channels[pick(rng, std::size(channels))];
}

/// A valid command. `stable`: none whose replies depend on time or on the server's counters
/// (so a server on the real clock and a session fed the same input answer alike).
inline auto random_command(std::mt19937& rng, bool stable) -> std::vector<std::string> {
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

inline auto encode(const std::vector<std::string>& args, std::mt19937& rng) -> std::string {
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

inline auto random_pipeline(std::mt19937& rng, bool stable) -> std::string {
    std::string p;
    for (std::size_t n = 1 + pick(rng, 6); n > 0; --n) {
        p += encode(random_command(rng, stable), rng);
    }
    return p;
}

/// Gives a `*n` or `$n` header of `s` another number.
inline void renumber(std::string& s, std::mt19937& rng) {
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

inline auto mutate_once(std::string s, std::mt19937& rng, const std::string& donor) -> std::string {
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
inline auto fuzz_input(std::mt19937& rng, bool stable, std::string& donor) -> std::string {
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

inline auto contains_quit(std::string_view s) -> bool {
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
inline auto check_replies(const fed& r, std::string_view input) -> std::string {
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

} // namespace redis_test
