// Which I/O engine a new loop gets (loop_options::io, COVEN_IO).

#include "io/backend.hpp"
#include "io/epoll_backend.hpp"
#include "io/uring_backend.hpp"

#include <coven/error.hpp>
#include <coven/event_loop.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace coven::detail {

namespace {

// COVEN_IO=auto: io_uring where the kernel and the sandbox allow it, else epoll, saying why once
// per process (a fallback that nobody sees is a slow program nobody can explain).
auto io_uring_or_epoll() -> std::unique_ptr<io_backend> {
    std::string why;
    try {
        return std::make_unique<uring_backend>();
    } catch (const error& e) {
        why = e.what();
    }
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
        std::fprintf(stderr, "%s; coven uses epoll\n", why.c_str());
    }
    auto epoll = std::make_unique<epoll_backend>();
    epoll->set_fallback_reason(std::move(why)); // event_loop::io_fallback_reason()
    return epoll;
}

} // namespace

auto make_io_backend(io_engine wanted) -> std::unique_ptr<io_backend> {
    if (wanted == io_engine::automatic) {
        const char* env = std::getenv("COVEN_IO");
        if (env == nullptr || *env == '\0' || std::strcmp(env, "epoll") == 0) {
            return std::make_unique<epoll_backend>();
        }
        if (std::strcmp(env, "io_uring") == 0) {
            return std::make_unique<uring_backend>();
        }
        if (std::strcmp(env, "auto") == 0) {
            return io_uring_or_epoll();
        }
        throw usage_error(std::string("coven: COVEN_IO=") + env +
                          " names no I/O engine this build has; the engines are: epoll, "
                          "io_uring, auto (io_uring if the kernel allows it, else epoll); unset "
                          "COVEN_IO for the default (epoll)");
    }
    if (wanted == io_engine::io_uring) {
        return std::make_unique<uring_backend>();
    }
    return std::make_unique<epoll_backend>();
}

} // namespace coven::detail
