// The kernel's side of the I/O seam: operations go to the loop's engine (src/io/backend.hpp).

#include "loop_state.hpp"

namespace coven::detail {

void start_io(loop_core* loop, io_op& op) {
    static_cast<loop_state*>(loop)->m_io->start(op);
}

auto cancel_io(loop_core* loop, io_op& op) noexcept -> io_cancel_result {
    return static_cast<loop_state*>(loop)->m_io->cancel(op);
}

void attach_fd(loop_core* loop, int fd) {
    static_cast<loop_state*>(loop)->m_io->attach(fd);
}

void detach_fd(loop_core* loop, int fd) noexcept {
    static_cast<loop_state*>(loop)->m_io->detach(fd);
}

auto fd_readiness(const loop_core* loop, int fd) noexcept -> std::uint8_t {
    return static_cast<const loop_state*>(loop)->m_io->readiness(fd);
}

void clear_fd_readiness(loop_core* loop, int fd, std::uint8_t bits) noexcept {
    static_cast<loop_state*>(loop)->m_io->clear_readiness(fd, bits);
}

auto pending_io(const loop_core* loop) noexcept -> std::size_t {
    return static_cast<const loop_state*>(loop)->m_io->pending();
}

auto io_fallback_reason(const loop_core* loop) -> std::string {
    return static_cast<const loop_state*>(loop)->m_io->fallback_reason();
}

auto io_engine_name(const loop_core* loop) noexcept -> const char* {
    return static_cast<const loop_state*>(loop)->m_io->name();
}

} // namespace coven::detail
