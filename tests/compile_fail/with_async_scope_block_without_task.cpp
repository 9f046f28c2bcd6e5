// expect: with_async_scope\(\)'s block must be callable with a coven::async_scope&
#include <coven/async_scope.hpp>

auto body() -> coven::task<> {
    co_await coven::with_async_scope({}, [](coven::async_scope&) {});
}
