#pragma once
// RESP2, the Redis protocol: parsing a command from what a client sent, and writing replies.
// The parser never allocates for what it reads: a command's arguments are views into the
// connection's input buffer, valid until that buffer changes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coven_redis {

/// What a request may be; a client past a limit gets a protocol error and is disconnected, so
/// no client can make the server buffer more than max_request bytes of input.
struct request_limits {
    std::size_t max_request = 64 * 1024 * 1024; ///< a command's bytes, a bulk string's length
    std::size_t max_inline = 64 * 1024;         ///< an inline command, a `*`/`$` header line
    std::size_t max_args = 1024 * 1024;         ///< a multibulk's element count
};

enum class parse_status {
    complete,   ///< args holds a command (maybe none: an empty line or `*0`); consumed is set
    incomplete, ///< more input is needed (and the input so far is within the limits)
    error,      ///< malformed or over a limit: reply `-ERR <error>` and close the connection
};

struct parse_result {
    parse_status status;
    std::size_t consumed = 0;
    std::string_view error{};
};

/// Parses the first command in `in`: a multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or, for
/// input that does not start with `*`, an inline command (`PING\r\n`, split at blanks).
auto parse_command(std::string_view in, std::vector<std::string_view>& args,
                   const request_limits& limits) -> parse_result;

// --- replies ----------------------------------------------------------------------------------
void reply_simple(std::string& out, std::string_view text);   // +text
void reply_error(std::string& out, std::string_view message); // -message (with its prefix: ERR)
void reply_integer(std::string& out, std::int64_t n);         // :n
void reply_bulk(std::string& out, std::string_view data);     // $len data
void reply_null(std::string& out);                            // $-1
void reply_array(std::string& out, std::size_t n);            // *n, then n replies

/// Parses a decimal integer as Redis does (no blanks, no '+', within int64); false otherwise.
auto parse_int(std::string_view text, std::int64_t& value) -> bool;

} // namespace coven_redis
