// expect: repeat_timeout\(\)'s body must be callable with no arguments and return
#include <coven/timeout.hpp>

auto body() -> coven::task<> {
    co_await coven::repeat_timeout(1.0, [] { return 1; });
}
