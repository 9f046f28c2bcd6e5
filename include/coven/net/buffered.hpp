#pragma once
// coven::net::buffered_reader and buffered_writer: line and delimiter reads with a bound on
// length, and writes gathered into few system calls (B4).

#include <coven/error.hpp>
#include <coven/net/stream.hpp>
#include <coven/task.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coven::net {

/// A read went past its limit: the peer sent more than `max` bytes without the delimiter. The
/// bytes stay in the reader's buffer; the connection is usually best closed.
class limit_exceeded : public coven::error {
public:
    using coven::error::error;
};

/// Reads a stream through a buffer of its own.
/// **Cancellation:** every read is cancel-safe: what a cancelled read had taken from the socket
/// stays in the buffer, and the next read starts with it. Nothing is lost.
/// **Memory:** the buffer holds at most the largest `max` asked for (plus one read's worth):
/// a peer that never sends the delimiter cannot grow it without bound.
/// **Thread safety:** the loop's thread; one task reads at a time. The stream must outlive it.
class buffered_reader {
public:
    /// `chunk`: how much each system call asks for.
    explicit buffered_reader(stream& s, std::size_t chunk = 16 * 1024)
        : m_stream(&s), m_chunk(chunk) {}

    /// The next line without its "\n" (and without a "\r" before it); nullopt at end of stream
    /// with nothing buffered. **Throws:** limit_exceeded when `max` bytes arrive without a
    /// newline; end_of_stream when the stream ends inside a line; system_error.
    auto read_line(std::size_t max = 64 * 1024) -> task<std::optional<std::string>>;
    /// Everything up to and including `delim`; nullopt at end of stream with nothing buffered.
    /// **Throws:** as read_line().
    auto read_until(std::string_view delim, std::size_t max) -> task<std::optional<std::string>>;
    /// Exactly `n` bytes. **Throws:** end_of_stream (saying how many had arrived);
    /// system_error.
    auto read_exact(std::size_t n) -> task<std::string>;
    /// What is buffered, or else what one read brings; empty at end of stream.
    auto read_some() -> task<std::string>;

    /// The bytes read from the socket and not yet returned.
    [[nodiscard]] auto buffered() const noexcept -> std::string_view {
        return std::string_view(m_buffer).substr(m_start);
    }

private:
    /// One read from the socket into the buffer; false at end of stream.
    auto fill() -> task<bool>;
    void consume(std::size_t n) noexcept;

    stream* m_stream;
    std::size_t m_chunk;
    std::string m_buffer;
    std::size_t m_start = 0; // where the unread bytes begin
};

/// Writes to a stream through a buffer: small writes are gathered and sent by flush(), or when
/// the buffer passes `capacity`.
/// **Cancellation:** not cancel-safe while it sends (a prefix may have gone); what was not sent
/// stays buffered and goes with the next flush().
/// **Thread safety:** the loop's thread; one task writes at a time. The stream must outlive it.
class buffered_writer {
public:
    explicit buffered_writer(stream& s, std::size_t capacity = 64 * 1024)
        : m_stream(&s), m_capacity(capacity) {}

    /// Buffers `data`; sends the buffer when it passes the capacity. **Throws:** system_error.
    auto write(std::string_view data) -> task<void>;
    /// Sends everything buffered. **Throws:** system_error.
    auto flush() -> task<void>;
    [[nodiscard]] auto buffered() const noexcept -> std::size_t { return m_buffer.size() - m_sent; }

private:
    stream* m_stream;
    std::size_t m_capacity;
    std::string m_buffer;
    std::size_t m_sent = 0; // the prefix of m_buffer already written
};

} // namespace coven::net
