// expect: (nodiscard|unused-result)
// An awaitable made and dropped without co_await does nothing: every function returning one is
// [[nodiscard]].
#include <coven/sleep.hpp>

auto body() -> coven::task<> {
    coven::sleep(1.0);
    co_return;
}
