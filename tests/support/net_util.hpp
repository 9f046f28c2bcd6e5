#pragma once
// Helpers of the I/O tests: each socket test is a TEST_P over every I/O engine this build has,
// so that a new engine is added to the suites in one place (io_engines()).

#include <coven/error.hpp>
#include <coven/event_loop.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coven {
/// gtest prints a test's engine by name ("io_uring"), not as a byte.
inline void PrintTo(io_engine engine, std::ostream* os) {
    *os << (engine == io_engine::epoll      ? "epoll"
            : engine == io_engine::io_uring ? "io_uring"
                                            : "automatic");
}
} // namespace coven

namespace coven_test {

/// The engines the I/O tests run over: both, on a kernel that has io_uring (CI's does; a
/// kernel or sandbox without it runs the epoll half and says so once).
inline auto io_engines() {
    static const std::vector<coven::io_engine> engines = [] {
        try {
            coven::event_loop probe({.io = coven::io_engine::io_uring});
            return std::vector{coven::io_engine::epoll, coven::io_engine::io_uring};
        } catch (const coven::error& e) {
            std::fprintf(stderr, "[ note ] the io_uring half of the I/O tests is skipped: %s\n",
                         e.what());
            return std::vector{coven::io_engine::epoll};
        }
    }();
    return ::testing::ValuesIn(engines);
}

/// The test-name suffix of an engine ("EachEngine/Net.Echo/epoll").
inline auto io_engine_test_name(const ::testing::TestParamInfo<coven::io_engine>& info)
    -> std::string {
    switch (info.param) {
    case coven::io_engine::epoll:
        return "epoll";
    case coven::io_engine::io_uring:
        return "io_uring";
    default:
        return "automatic";
    }
}

/// Runs `main` on a real-clock loop with the engine under test.
template <class Main>
void run_on(coven::io_engine engine, Main main) {
    coven::event_loop loop({.io = engine});
    loop.run_until_complete(main());
}

inline auto bytes(std::string_view s) -> std::span<const std::byte> {
    return std::as_bytes(std::span(s));
}

} // namespace coven_test
