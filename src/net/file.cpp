// coven::file on the thread pool (include/coven/file.hpp).

#include <coven/error.hpp>
#include <coven/executor.hpp>
#include <coven/file.hpp>

#include <cerrno>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace coven {
namespace {

[[noreturn]] void raise(int err, const char* what, const std::string& path) {
    throw std::system_error(err, std::generic_category(), std::string(what) + " " + path);
}

} // namespace

/// Counts a call of the file on the pool, so that close() can refuse to close under it. Every
/// call runs through enter_executor(), which waits for a running call even when cancelled, so
/// the count drops only once the worker is done with the fd and the buffer.
struct file::in_flight {
    explicit in_flight(file& f) : m_file(&f) { ++f.m_running; }
    ~in_flight() { --m_file->m_running; }
    in_flight(const in_flight&) = delete;
    auto operator=(const in_flight&) -> in_flight& = delete;
    file* m_file;
};

auto file::open(std::string path, int flags, int mode) -> task<file> {
    // enter_executor: a cancel waits for a running open(), so that its fd is closed, not lost.
    const int fd = co_await enter_executor([&] {
        const int r = ::open(path.c_str(), flags | O_CLOEXEC, mode);
        return r >= 0 ? r : -errno; // errno is the worker's: carried back in the result
    });
    if (fd < 0) {
        raise(-fd, "open", path);
    }
    co_return file(fd, std::move(path));
}

auto file::read_all(std::string path) -> task<std::string> {
    auto f = co_await open(path, O_RDONLY);
    std::string out;
    std::uint64_t at = 0;
    for (;;) {
        out.resize(at + 64 * 1024);
        const std::size_t n = co_await f.read_at(
            std::as_writable_bytes(std::span(out)).subspan(static_cast<std::size_t>(at)), at);
        at += n;
        if (n == 0) {
            break;
        }
    }
    out.resize(static_cast<std::size_t>(at));
    co_return out;
}

auto file::read_at(std::span<std::byte> buffer, std::uint64_t offset) -> task<std::size_t> {
    in_flight counted(*this);
    // enter_executor, not run_in_executor: a cancel waits for a running pread(), which writes
    // into the caller's buffer, before the task (and the buffer) may go.
    const int fd = m_fd.get();
    const auto r = co_await enter_executor([&]() -> std::int64_t {
        const auto n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
        return n >= 0 ? n : -errno;
    });
    if (r < 0) {
        raise(static_cast<int>(-r), "read from", m_path);
    }
    co_return static_cast<std::size_t>(r);
}

auto file::write_at(std::span<const std::byte> data, std::uint64_t offset) -> task<void> {
    in_flight counted(*this);
    while (!data.empty()) {
        const int fd = m_fd.get();
        const auto r = co_await enter_executor([&]() -> std::int64_t {
            const auto n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
            return n >= 0 ? n : -errno;
        });
        if (r < 0) {
            raise(static_cast<int>(-r), "write to", m_path);
        }
        data = data.subspan(static_cast<std::size_t>(r));
        offset += static_cast<std::uint64_t>(r);
    }
}

auto file::sync() -> task<void> {
    in_flight counted(*this);
    const int fd = m_fd.get();
    const int err = co_await enter_executor([fd] { return ::fsync(fd) == 0 ? 0 : errno; });
    if (err != 0) {
        raise(err, "fsync of", m_path);
    }
}

auto file::size() -> task<std::uint64_t> {
    in_flight counted(*this);
    const int fd = m_fd.get();
    const auto r = co_await enter_executor([fd]() -> std::int64_t {
        struct stat st {};
        return ::fstat(fd, &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -errno;
    });
    if (r < 0) {
        raise(static_cast<int>(-r), "fstat of", m_path);
    }
    co_return static_cast<std::uint64_t>(r);
}

void file::close() {
    if (m_running > 0) {
        throw usage_error("coven: file::close() of " + m_path +
                          " while a call of it runs on "
                          "the thread pool; await the call first");
    }
    m_fd.close();
}

} // namespace coven
