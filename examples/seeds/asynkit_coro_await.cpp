// asynkit, "Context helper": coro_await() runs a coroutine in a given context. The coroutine
// sets the variable in the copied context; the caller's own value is untouched.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

coven::task_local<std::string> var1("unset"); // contextvars.ContextVar("myvar")

auto my_method() -> coven::task<void> {
    var1.set("foo");
    co_return;
}

auto main_task() -> coven::task<void> {
    auto context = coven::context::copy();
    var1.set("bar");
    co_await coven::coro_await(my_method(), context);
    // the coroutine didn't modify _our_ context
    std::cout << "var1: " << var1.get() << std::endl;
    // ... but it did modify the copied context
    std::cout << "context var1: " << context.get(var1) << std::endl;
}

int main() {
    coven::run(main_task());
    return 0;
}
