// async-tamer, "The AsyncScope" (`async with`): the same nesting inside a coroutine. A
// destructor cannot await, so the async form is with_async_scope(options, body).
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto slow_echo(std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
}

auto slow_bulk_echo() -> coven::task<void> {
    co_await coven::with_async_scope({}, [](coven::async_scope& outer_scope) -> coven::task<> {
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(1.5)", 1.5));
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(1)", 1));
        co_await coven::with_async_scope({}, [](coven::async_scope& inner_scope) -> coven::task<> {
            inner_scope.spawn(slow_echo("Outer Scope > Inner Scope > DELAY(2)", 2));
            inner_scope.spawn(slow_echo("Outer Scope > Inner Scope > DELAY(1)", 1));
            co_return;
        }); // await inner_scope functions
        // Note: scheduled after inner scope has finished
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(.5)", 0.5));
    });
}

int main() {
    coven::run(slow_bulk_echo()); // called from synchronous code: blocks until it is done
    return 0;
}
