// Which I/O engine a new loop gets (loop_options::io, COVEN_IO).

#include "io/backend.hpp"
#include "io/epoll_backend.hpp"

#include <coven/error.hpp>
#include <coven/event_loop.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

namespace coven::detail {

auto make_io_backend(io_engine wanted) -> std::unique_ptr<io_backend> {
    io_engine kind = wanted;
    if (kind == io_engine::automatic) {
        const char* env = std::getenv("COVEN_IO");
        if (env == nullptr || *env == '\0' || std::strcmp(env, "epoll") == 0) {
            kind = io_engine::epoll;
        } else {
            throw usage_error(std::string("coven: COVEN_IO=") + env +
                              " names no I/O engine this build has; the engines are: epoll "
                              "(unset COVEN_IO for the default)");
        }
    }
    switch (kind) {
    case io_engine::epoll:
    case io_engine::automatic:
        break;
    }
    return std::make_unique<epoll_backend>();
}

} // namespace coven::detail
