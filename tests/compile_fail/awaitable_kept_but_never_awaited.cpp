// expect: unused variable.*held
// `auto held = slots.scoped();` without co_await takes no permit: -Wall (here with -Werror) says
// so, because every awaiter type is marked [[gnu::warn_unused]].
#include <coven/semaphore.hpp>
#include <coven/task.hpp>

auto body(coven::semaphore& slots) -> coven::task<> {
    auto held = slots.scoped();
    co_return;
}
