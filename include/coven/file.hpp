#pragma once
// coven::file: a file read and written at offsets without blocking the loop. On the epoll
// engine each call runs on coven::default_thread_pool() (files are always "ready" to epoll);
// an io_uring engine will do them natively (B4).

#include <coven/detail/socket_op.hpp>
#include <coven/task.hpp>

#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <span>
#include <string>

namespace coven {

/// An open file. Move-only; closes its fd when destroyed.
/// **Cancellation:** a cancelled call that has not started is dropped and raises
/// cancelled_error; one that runs cannot be stopped, so the task waits for it (the buffer it
/// reads into or writes from stays valid), gets its result, and the cancellation is raised by
/// the task's next await (enter_executor()'s rule).
/// **Errors:** std::system_error naming the operation and the path ("open /etc/x: No such
/// file or directory").
/// **Thread safety:** awaited from coven tasks; the calls run on the default thread pool. Do not
/// close (or destroy) the file while one of its calls runs: close() then is a usage_error.
class file {
public:
    file() noexcept = default;
    /// Opens `path` with open(2)'s `flags` (O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, ...) and
    /// `mode` for a new file. O_CLOEXEC is added.
    static auto open(std::string path, int flags, int mode = 0644) -> task<file>;
    /// The whole content of `path`.
    static auto read_all(std::string path) -> task<std::string>;

    /// Reads up to `buffer.size()` bytes at `offset`; 0 at the end of the file.
    auto read_at(std::span<std::byte> buffer, std::uint64_t offset) -> task<std::size_t>;
    /// Writes all of `data` at `offset`.
    auto write_at(std::span<const std::byte> data, std::uint64_t offset) -> task<void>;
    /// fsync(2): the data and metadata reach the disk.
    auto sync() -> task<void>;
    /// The file's size now (fstat).
    auto size() -> task<std::uint64_t>;

    /// Closes the file (idempotent). **Throws:** usage_error while a call of it runs.
    void close();
    [[nodiscard]] auto is_open() const noexcept -> bool { return m_fd.is_open(); }
    [[nodiscard]] auto native_handle() const noexcept -> int { return m_fd.get(); }
    [[nodiscard]] auto path() const noexcept -> const std::string& { return m_path; }

private:
    file(int fd, std::string path) noexcept : m_fd(fd), m_path(std::move(path)) {}
    struct in_flight;
    detail::owned_fd m_fd;
    std::string m_path;
    int m_running = 0; // calls of this file on the pool now
};

} // namespace coven
