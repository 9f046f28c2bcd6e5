// expect: coven::fail_scope scope = coven::fail_after
// fail_after() returns a coven::fail_scope; keeping it in a cancel_scope variable would drop its
// fail mode, and the refusal names the type to write.
#include <coven/timeout.hpp>

auto body() -> coven::task<> {
    coven::cancel_scope scope = coven::fail_after(1.0);
    (void)scope;
    co_return;
}
