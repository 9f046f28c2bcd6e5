// RESP2 parsing and reply writing (resp.hpp).

#include "resp.hpp"

#include <charconv>
#include <cstring>
#include <limits>

namespace coven_redis {

namespace {

// A `*n` or `$n` header line starting at `pos` (on the type byte): its number, and where the
// line ends. The limits on a header's length keep a peer from making us scan without bound.
struct header {
    parse_status status;
    std::int64_t value = 0;
    std::size_t next = 0; // just past the "\r\n"
    std::string_view error{};
};

auto read_header(std::string_view in, std::size_t pos, const request_limits& limits,
                 std::string_view too_big) -> header {
    const std::size_t eol = in.find('\r', pos);
    if (eol == std::string_view::npos) {
        if (in.size() - pos > limits.max_inline) {
            return {parse_status::error, 0, 0, too_big};
        }
        return {parse_status::incomplete};
    }
    if (eol - pos > limits.max_inline) {
        return {parse_status::error, 0, 0, too_big};
    }
    if (eol + 1 >= in.size()) {
        return {parse_status::incomplete}; // the '\n' has not come yet
    }
    std::int64_t n = 0;
    if (in[eol + 1] != '\n' || !parse_int(in.substr(pos + 1, eol - pos - 1), n)) {
        return {parse_status::error, 0, 0, {}}; // the caller names the header
    }
    return {parse_status::complete, n, eol + 2, {}};
}

auto parse_inline(std::string_view in, std::vector<std::string_view>& args,
                  const request_limits& limits) -> parse_result {
    const std::size_t eol = in.find('\n');
    if (eol == std::string_view::npos) {
        if (in.size() > limits.max_inline) {
            return {parse_status::error, 0, "Protocol error: too big inline request"};
        }
        return {parse_status::incomplete};
    }
    if (eol > limits.max_inline) {
        return {parse_status::error, 0, "Protocol error: too big inline request"};
    }
    std::string_view line = in.substr(0, eol);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
        if (i > start) {
            if (args.size() >= limits.max_args) {
                return {parse_status::error, 0, "Protocol error: invalid multibulk length"};
            }
            args.push_back(line.substr(start, i - start));
        }
    }
    return {parse_status::complete, eol + 1};
}

void append_number_line(std::string& out, char type, std::int64_t n) {
    char buffer[24];
    buffer[0] = type;
    const auto r = std::to_chars(buffer + 1, buffer + sizeof buffer - 2, n);
    r.ptr[0] = '\r';
    r.ptr[1] = '\n';
    out.append(buffer, static_cast<std::size_t>(r.ptr + 2 - buffer));
}

} // namespace

auto parse_int(std::string_view text, std::int64_t& value) -> bool {
    if (text.empty() || text.size() > 20 || text[0] == '+') {
        return false;
    }
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

auto parse_command(std::string_view in, std::vector<std::string_view>& args,
                   const request_limits& limits) -> parse_result {
    args.clear();
    if (in.empty()) {
        return {parse_status::incomplete};
    }
    if (in[0] != '*') {
        return parse_inline(in, args, limits);
    }
    const header count = read_header(in, 0, limits, "Protocol error: too big mbulk count string");
    if (count.status != parse_status::complete) {
        // read_header() leaves naming a malformed header to its caller.
        return {count.status, 0,
                count.status == parse_status::error && count.error.empty()
                    ? "Protocol error: invalid multibulk length"
                    : count.error};
    }
    if (count.value > static_cast<std::int64_t>(limits.max_args)) {
        return {parse_status::error, 0, "Protocol error: invalid multibulk length"};
    }
    if (count.value <= 0) {
        return {parse_status::complete, count.next}; // `*0` and `*-1`: nothing to run
    }
    std::size_t pos = count.next;
    for (std::int64_t i = 0; i < count.value; ++i) {
        if (pos >= in.size()) {
            return {parse_status::incomplete};
        }
        if (in[pos] != '$') {
            // Redis's own wording, naming the byte found.
            static thread_local std::string message;
            message = "Protocol error: expected '$', got '";
            message += in[pos];
            message += '\'';
            return {parse_status::error, 0, message};
        }
        const header bulk =
            read_header(in, pos, limits, "Protocol error: too big bulk count string");
        if (bulk.status == parse_status::incomplete) {
            return {parse_status::incomplete};
        }
        if (bulk.status == parse_status::error || bulk.value < 0 ||
            static_cast<std::uint64_t>(bulk.value) > limits.max_request) {
            return {parse_status::error, 0,
                    bulk.error.empty() ? "Protocol error: invalid bulk length" : bulk.error};
        }
        const auto length = static_cast<std::size_t>(bulk.value);
        if (bulk.next > limits.max_request || length > limits.max_request - bulk.next) {
            return {parse_status::error, 0, "Protocol error: request too big"};
        }
        if (in.size() - bulk.next < length + 2) {
            return {parse_status::incomplete};
        }
        if (in[bulk.next + length] != '\r' || in[bulk.next + length + 1] != '\n') {
            return {parse_status::error, 0, "Protocol error: bulk string not followed by CRLF"};
        }
        args.push_back(in.substr(bulk.next, length));
        pos = bulk.next + length + 2;
    }
    return {parse_status::complete, pos};
}

void reply_simple(std::string& out, std::string_view text) {
    out += '+';
    out += text;
    out += "\r\n";
}

void reply_error(std::string& out, std::string_view message) {
    out += '-';
    // A reply line cannot hold a line break: an error quoting the client's input drops them.
    for (const char c : message) {
        out += (c == '\r' || c == '\n') ? ' ' : c;
    }
    out += "\r\n";
}

void reply_integer(std::string& out, std::int64_t n) {
    append_number_line(out, ':', n);
}

void reply_bulk(std::string& out, std::string_view data) {
    append_number_line(out, '$', static_cast<std::int64_t>(data.size()));
    out += data;
    out += "\r\n";
}

void reply_null(std::string& out) {
    out += "$-1\r\n";
}

void reply_array(std::string& out, std::size_t n) {
    append_number_line(out, '*', static_cast<std::int64_t>(n));
}

} // namespace coven_redis
