// expect: ok
// The control: what the other files get wrong, written right, compiles without a warning.
#include <coven/async_scope.hpp>
#include <coven/semaphore.hpp>
#include <coven/sleep.hpp>
#include <coven/task_scope.hpp>
#include <coven/timeout.hpp>

auto body(coven::semaphore& slots) -> coven::task<> {
    co_await coven::with_scope({}, [](coven::task_scope&) -> coven::task<> { co_return; });
    co_await coven::with_async_scope({}, [](coven::async_scope&) -> coven::task<> { co_return; });
    co_await coven::repeat_timeout(1.0, []() -> coven::task<bool> { co_return false; });
    auto held = co_await slots.scoped();
    co_await coven::sleep(1.0);
    coven::fail_scope scope = coven::fail_after(1.0);
    int value = co_await scope.run([]() -> coven::task<int> { co_return 1; });
    (void)value;
}
