// buffered_reader and buffered_writer (include/coven/net/buffered.hpp).

#include <coven/net/buffered.hpp>

#include <string>

namespace coven::net {

auto buffered_reader::fill() -> task<bool> {
    if (m_start > 0 && m_start * 2 >= m_buffer.size()) { // keep the buffer from creeping
        m_buffer.erase(0, m_start);
        m_start = 0;
    }
    const std::size_t old = m_buffer.size();
    m_buffer.resize(old + m_chunk);
    std::size_t n = 0;
    try {
        n = co_await m_stream->read_some(std::as_writable_bytes(std::span(m_buffer)).subspan(old));
    } catch (...) {
        m_buffer.resize(old); // nothing was read: the buffer is as it was
        throw;
    }
    m_buffer.resize(old + n);
    co_return n > 0;
}

void buffered_reader::consume(std::size_t n) noexcept {
    m_start += n;
    if (m_start == m_buffer.size()) {
        m_buffer.clear();
        m_start = 0;
    }
}

auto buffered_reader::read_until(std::string_view delim, std::size_t max)
    -> task<std::optional<std::string>> {
    std::size_t searched = 0; // of the unread bytes, those known not to start the delimiter
    for (;;) {
        const std::string_view unread = buffered();
        const auto at = unread.find(delim, searched);
        if (at != std::string_view::npos && at + delim.size() <= max) {
            std::string out(unread.substr(0, at + delim.size()));
            consume(at + delim.size());
            co_return out;
        }
        if (unread.size() >= max) {
            throw limit_exceeded("coven: read from " + m_stream->peer_text() + ": no '" +
                                 std::string(delim == "\n" ? "\\n" : delim) + "' within " +
                                 std::to_string(max) + " bytes");
        }
        searched = unread.size() >= delim.size() ? unread.size() - delim.size() + 1 : 0;
        if (!co_await fill()) {
            if (buffered().empty()) {
                co_return std::nullopt;
            }
            throw end_of_stream("coven: read from " + m_stream->peer_text() +
                                ": the stream ended inside a line (" +
                                std::to_string(buffered().size()) +
                                " bytes without the "
                                "delimiter)");
        }
    }
}

auto buffered_reader::read_line(std::size_t max) -> task<std::optional<std::string>> {
    auto line = co_await read_until("\n", max + 1);
    if (line) {
        line->pop_back();
        if (!line->empty() && line->back() == '\r') {
            line->pop_back();
        }
    }
    co_return line;
}

auto buffered_reader::read_exact(std::size_t n) -> task<std::string> {
    while (buffered().size() < n) {
        if (!co_await fill()) {
            throw end_of_stream("coven: read_exact from " + m_stream->peer_text() +
                                ": the peer closed the stream after " +
                                std::to_string(buffered().size()) + " of " + std::to_string(n) +
                                " bytes");
        }
    }
    std::string out(buffered().substr(0, n));
    consume(n);
    co_return out;
}

auto buffered_reader::read_some() -> task<std::string> {
    if (buffered().empty()) {
        (void)co_await fill();
    }
    std::string out(buffered());
    consume(out.size());
    co_return out;
}

auto buffered_writer::write(std::string_view data) -> task<void> {
    m_buffer.append(data);
    if (buffered() >= m_capacity) {
        co_await flush();
    }
}

auto buffered_writer::flush() -> task<void> {
    while (m_sent < m_buffer.size()) {
        m_sent += co_await m_stream->write_some(
            std::as_bytes(std::span(m_buffer)).subspan(m_sent)); // a cancel keeps the rest
    }
    m_buffer.clear();
    m_sent = 0;
}

} // namespace coven::net
