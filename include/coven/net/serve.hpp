#pragma once
// coven::net::serve(): the accept loop every server writes, with the two things it gets wrong
// when written by hand: a connection's failure must not end the server, and running out of fds
// (EMFILE) must not end it either, nor spin on a listener that stays readable (B4).

#include <coven/error.hpp>
#include <coven/net/address.hpp>
#include <coven/net/listener.hpp>
#include <coven/net/stream.hpp>
#include <coven/task.hpp>
#include <coven/task_scope.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace coven::net {

/// How serve() runs its accept loop.
struct serve_options {
    /// The first pause after accept() fails for want of resources (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM): the connection stays queued in the kernel and the listener stays readable, so
    /// accepting again at once would spin. The pause doubles with each failure in a row, up to
    /// max_backoff, and starts over after an accept that works.
    std::chrono::milliseconds backoff{10};
    std::chrono::milliseconds max_backoff{1000};
    /// Told of each such failure and the pause it causes (a server logs it). Runs on the loop.
    std::function<void(const std::system_error&, std::chrono::milliseconds pause)> on_accept_error;
    /// Told of a connection handler's error (anything but cancellation); without it the error
    /// is dropped: one connection's failure (a peer that resets) is not the server's.
    std::function<void(std::exception_ptr)> on_connection_error;
};

namespace detail {
/// What serve() does after accept() threw `e` (errno in e.code()): returns the pause to take
/// (zero for a failure that concerned one connection only, such as ECONNABORTED), or rethrows
/// what is the listener's own failure (EBADF, EINVAL: closed or not listening).
auto accept_failure_pause(const std::system_error& e, std::chrono::milliseconds& next_backoff,
                          const serve_options& options) -> std::chrono::milliseconds;
auto pause_accepting(std::chrono::milliseconds pause) -> task<void>;
auto guard_connection(task<void> work, const serve_options* options) -> task<void>;
} // namespace detail

/// Accepts connections on `server` until cancelled, running `handler(stream, address)` (a
/// coroutine returning coven::task<void>) for each as a task of a scope of its own: the
/// handlers run concurrently, and a cancelled serve() cancels them all and returns only once
/// they have unwound (structured: no connection outlives its server).
/// A handler's error ends that connection only (see serve_options::on_connection_error).
/// accept() failing for want of fds or memory pauses the loop and tries again (see
/// serve_options::backoff); failures of one pending connection (ECONNABORTED, EPROTO, network
/// errors Linux passes on) are skipped.
/// **Cancellation:** the way to stop it; absorbed by nobody: cancelled_error after the
/// connections have ended.
/// **Throws:** system_error if the listener itself fails (closed: EBADF); what with_scope()
/// throws; std::bad_alloc.
/// **g++ 12:** name the handler before the co_await if it captures anything that owns memory
/// (docs/compilers.md).
/// **Example:**
/// ```
/// co_await coven::net::serve(server, [](coven::net::stream conn, coven::net::address) {
///     return echo(std::move(conn));
/// });
/// ```
template <class Handler>
auto serve(listener& server, Handler handler, serve_options options = {}) -> task<void> {
    static_assert(std::is_invocable_r_v<task<void>, Handler&, stream, address>,
                  "serve()'s handler must be callable as handler(coven::net::stream, "
                  "coven::net::address) and return a coven::task<void>");
    co_await with_scope({}, [&](task_scope& scope) -> task<void> {
        std::chrono::milliseconds next_backoff = options.backoff;
        for (;;) {
            std::chrono::milliseconds pause{0};
            try {
                auto [conn, peer] = co_await server.accept();
                next_backoff = options.backoff;
                scope.spawn(
                    detail::guard_connection(handler(std::move(conn), std::move(peer)), &options),
                    {.bubble = false});
                continue;
            } catch (const std::system_error& e) {
                pause = detail::accept_failure_pause(e, next_backoff, options);
            }
            if (pause.count() > 0) {
                co_await detail::pause_accepting(pause);
            }
        }
    });
}

} // namespace coven::net
