// coven_redis's connections and background tasks (server.hpp).

#include "server.hpp"

#include "glob.hpp"
#include "util.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <unistd.h>

namespace coven_redis {

using namespace util;

// --- server -----------------------------------------------------------------------------------

server::server(server_options options) : m_options(std::move(options)) {}

void server::log(std::string_view line) const {
    if (m_options.log) {
        m_options.log(line);
    }
}

auto server::flush(session& s, coven::net::stream& conn) -> coven::task<void> {
    if (s.m_writing) {
        // The other task is sending; it sends this too before it stops. Meanwhile this task
        // goes on reading, so replies pile up here: they count against the limit as messages do.
        if (s.out.size() > m_options.output_limit) {
            m_stats.output_limit_closes += 1;
            s.kill("output buffer limit reached (a client that does not read)");
        }
        co_return;
    }
    s.m_writing = true;
    while (!s.out.empty() && !s.m_closing) {
        std::swap(s.out, s.m_sending);
        co_await conn.write_all(s.m_sending);
        s.m_sending.clear();
        s.m_last_active = coven::current_loop()->now();
    }
    s.m_writing = false;
}

// After an error reply to bad input the client may still be sending; closing at once would
// make the kernel answer with a reset that can destroy the reply before the client reads it.
// So: send FIN, then read and drop what comes, for a second at most (nginx's lingering close).
auto server::linger(coven::net::stream& conn, std::vector<char>& buffer) -> coven::task<void> {
    conn.shutdown_write();
    co_await coven::move_on_after(std::chrono::seconds(1), [&]() -> coven::task<void> {
        while (co_await conn.read_some(std::as_writable_bytes(std::span(buffer))) > 0) {
        }
    });
}

auto server::push_messages(session& s, coven::net::stream& conn) -> coven::task<void> {
    for (;;) {
        co_await s.m_wake.wait();
        s.m_wake.clear();
        co_await flush(s, conn);
    }
}

auto server::serve_connection(coven::net::stream conn) -> coven::task<void> {
    m_stats.connections += 1;
    if (m_sessions.size() >= m_options.max_clients) {
        m_stats.rejected += 1;
        co_await conn.write_all(std::string_view("-ERR max number of clients reached\r\n"));
        co_return;
    }
    // As Redis does: a reply goes out at once, not held back by Nagle for the previous one's
    // ACK; keepalive finds clients whose host vanished. (A Unix socket has neither option.)
    using kind = coven::net::address::kind;
    if (const kind k = conn.local_address().family(); k == kind::ipv4 || k == kind::ipv6) {
        conn.set_nodelay(true);
        conn.set_keepalive(true);
    }
    session s(*this);
    m_stats.connected += 1;
    struct connected_guard {
        server_stats* stats;
        ~connected_guard() { stats->connected -= 1; }
    } guard{&m_stats};
    s.m_last_active = coven::current_loop()->now();
    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> coven::task<void> {
        s.m_scope = &scope;
        const request_limits& limits = m_options.limits;
        const std::size_t most = limits.max_request + limits.max_inline + 64 * 1024;
        std::vector<char> buffer(16 * 1024);
        std::size_t begin = 0;
        std::size_t end = 0;
        for (;;) {
            if (end == buffer.size()) {
                if (begin > 0) {
                    std::memmove(buffer.data(), buffer.data() + begin, end - begin);
                    end -= begin;
                    begin = 0;
                } else if (buffer.size() < most) {
                    buffer.resize(std::min(most, buffer.size() * 2));
                } else {
                    // Unreachable while the parser enforces the limits; kept as the wall.
                    co_return;
                }
            }
            const std::size_t n = co_await conn.read_some(
                std::as_writable_bytes(std::span(buffer.data() + end, buffer.size() - end)));
            if (n == 0) {
                co_return; // the client closed its side
            }
            end += n;
            s.m_last_active = coven::current_loop()->now();
            for (;;) {
                const session::processed r =
                    s.process(std::string_view(buffer.data() + begin, end - begin));
                begin += r.consumed;
                if (!s.out.empty()) {
                    co_await flush(s, conn);
                }
                if (r.protocol_error) {
                    co_await linger(conn, buffer);
                }
                if (r.close || s.m_closing) {
                    co_return;
                }
                if (!r.more) {
                    break;
                }
            }
            if (begin == end) {
                begin = end = 0;
                if (buffer.size() > 64 * 1024) {
                    std::vector<char>(16 * 1024).swap(buffer); // after a big request
                }
            }
            if (s.subscriptions() > 0 && !s.m_has_pusher) {
                s.m_has_pusher = true;
                scope.spawn(push_messages(s, conn), {.awaited = false});
            }
        }
    });
}

auto server::expiry_moved() -> coven::task<void> {
    co_await m_expiry_moved.wait();
}

auto server::expire_keys() -> coven::task<void> {
    for (;;) {
        m_stats.expired_keys += m_keys.expire_due(coven::current_loop()->now());
        m_expiry_moved.clear();
        if (const auto next = m_keys.next_deadline()) {
            co_await coven::move_on_at(*next, expiry_moved());
        } else {
            co_await m_expiry_moved.wait();
        }
    }
}

auto server::close_idle_clients() -> coven::task<void> {
    const auto idle = m_options.idle_timeout;
    if (idle.count() <= 0) {
        co_return;
    }
    const auto every =
        std::clamp(idle / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    for (;;) {
        co_await coven::sleep(every);
        const auto now = coven::current_loop()->now();
        std::vector<session*> idle_ones;
        for (session* s : m_sessions) {
            // A subscriber waits for messages, silent by right; unless its writes are stuck.
            const bool exempt = s->subscriptions() > 0 && !s->m_writing;
            if (s->m_scope != nullptr && !exempt && now - s->m_last_active > idle) {
                idle_ones.push_back(s);
            }
        }
        for (session* s : idle_ones) {
            m_stats.idle_closes += 1;
            s->kill("idle timeout");
        }
    }
}

auto server::run(coven::net::listener& where) -> coven::task<void> {
    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> coven::task<void> {
        scope.spawn(expire_keys(), {.awaited = false});
        scope.spawn(close_idle_clients(), {.awaited = false});
        coven::net::serve_options options;
        options.on_accept_error = [this](const std::system_error& e, std::chrono::milliseconds p) {
            log(std::string(e.what()) + "; accepting again in " + std::to_string(p.count()) +
                " ms");
        };
        auto serving = coven::net::serve(
            where,
            [this](coven::net::stream conn, coven::net::address) {
                return serve_connection(std::move(conn));
            },
            std::move(options));
        co_await std::move(serving);
    });
}

} // namespace coven_redis
