// expect: with_scope\(\)'s block must be callable with a coven::task_scope& and return a
// coven::task A block lambda without `-> coven::task<>` is a plain function: the library names the
// fix.
#include <coven/task_scope.hpp>

auto body() -> coven::task<> {
    co_await coven::with_scope({}, [](coven::task_scope&) {});
}
