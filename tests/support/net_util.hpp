#pragma once
// Helpers of the I/O tests: each socket test is a TEST_P over every I/O engine this build has,
// so that a new engine is added to the suites in one place (io_engines()).

#include <coven/event_loop.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace coven_test {

/// The engines the I/O tests run over.
inline auto io_engines() {
    return ::testing::Values(coven::io_engine::epoll);
}

/// The test-name suffix of an engine ("EachEngine/Net.Echo/epoll").
inline auto io_engine_test_name(const ::testing::TestParamInfo<coven::io_engine>& info)
    -> std::string {
    return info.param == coven::io_engine::epoll ? "epoll" : "automatic";
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
