// Test main: after every test, every runtime object must be gone and no fd may have been left
// open (TESTING.md seam 1). LeakSanitizer alone misses suspended frames that are still reachable.

#include <coven/error.hpp>
#include <coven/testing.hpp>

#include <gtest/gtest.h>

#include <dirent.h>

namespace {

auto open_fds() -> int {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

class accounting_listener : public ::testing::EmptyTestEventListener {
    void OnTestStart(const ::testing::TestInfo&) override {
        m_fds = open_fds();
        m_loops = coven::testing::live().loops;
    }
    void OnTestEnd(const ::testing::TestInfo&) override {
        try {
            coven::testing::reset_default_loop(); // a stopped default loop holds two fds
        } catch (const coven::usage_error& e) {
            ADD_FAILURE() << "the test left the default loop running: " << e.what();
        }
        auto live = coven::testing::live();
        EXPECT_EQ(live.frames, 0) << "task frames left alive after the test";
        EXPECT_EQ(live.timers, 0) << "timers left armed after the test";
        EXPECT_EQ(live.waiters, 0) << "tasks left parked after the test";
        EXPECT_EQ(live.loops, m_loops) << "event loops left alive after the test";
        EXPECT_EQ(live.fds, 0) << "sockets coven opened left open after the test";
        EXPECT_EQ(open_fds(), m_fds) << "file descriptors leaked by the test";
    }
    int m_fds = 0;
    std::int64_t m_loops = 0;
};

} // namespace

auto main(int argc, char** argv) -> int {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::UnitTest::GetInstance()->listeners().Append(new accounting_listener);
    return RUN_ALL_TESTS();
}
