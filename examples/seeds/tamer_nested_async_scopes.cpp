// async-tamer, "The AsyncScope" (`async with`): the same nesting inside a coroutine. A
// destructor cannot await, so the async form is with_async_scope(options, body). The tamed
// slow_bulk_echo() is then called from synchronous code, and blocks until it is done.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
};

const coven::tamed slow_bulk_echo = []() -> coven::task<void> {
    co_await coven::with_async_scope({}, [](coven::async_scope& outer_scope) -> coven::task<> {
        slow_echo("Outer Scope > DELAY(1.5)", 1.5, coven::in_scope(outer_scope));
        slow_echo("Outer Scope > DELAY(1)", 1, coven::in_scope(outer_scope));
        co_await coven::with_async_scope({}, [](coven::async_scope& inner_scope) -> coven::task<> {
            slow_echo("Outer Scope > Inner Scope > DELAY(2)", 2, coven::in_scope(inner_scope));
            slow_echo("Outer Scope > Inner Scope > DELAY(1)", 1, coven::in_scope(inner_scope));
            co_return;
        }); // await inner_scope calls
        // Note: scheduled after inner scope has finished
        slow_echo("Outer Scope > DELAY(.5)", 0.5, coven::in_scope(outer_scope));
    });
};

int main() {
    slow_bulk_echo();
    return 0;
}
