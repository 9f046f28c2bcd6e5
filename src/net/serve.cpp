// net::serve()'s accept-failure policy and connection guard (include/coven/net/serve.hpp).

#include <coven/net/serve.hpp>
#include <coven/sleep.hpp>

#include <algorithm>
#include <cerrno>

namespace coven::net::detail {

auto accept_failure_pause(const std::system_error& e, std::chrono::milliseconds& next_backoff,
                          const serve_options& options) -> std::chrono::milliseconds {
    // The error comes from listener::accept(), which raises errno values. (Its category is not
    // compared: UBSan's vptr check misreads libstdc++'s category objects in a clang build.)
    switch (e.code().value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: {
        // Out of resources: the connection waits in the kernel's queue until an fd is free.
        const auto pause = std::max(next_backoff, std::chrono::milliseconds(1));
        next_backoff = std::min(pause * 2, std::max(options.max_backoff, pause));
        if (options.on_accept_error) {
            options.on_accept_error(e, pause);
        }
        return pause;
    }
    // accept(2): these concern the one connection being taken (or, on Linux, errors of the
    // network it came from, passed on by accept); the next may be fine.
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
        return std::chrono::milliseconds(0);
    default:
        throw; // the listener's own failure: closed (EBADF), not listening (EINVAL)
    }
}

auto pause_accepting(std::chrono::milliseconds pause) -> task<void> {
    co_await coven::sleep(pause);
}

auto guard_connection(task<void> work, const serve_options* options) -> task<void> {
    std::exception_ptr failure;
    try {
        co_await std::move(work);
    } catch (const cancelled_error&) {
        throw;
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure && options->on_connection_error) {
        options->on_connection_error(failure);
    }
}

} // namespace coven::net::detail
