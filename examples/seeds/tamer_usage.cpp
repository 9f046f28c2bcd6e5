// async-tamer, "Usage": a function called from synchronous code blocks until it is done; given
// an async_scope (the seed's `_async_scope=scope`), it is scheduled there, and the scope's end
// waits for everything in it.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto slow_echo(std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
}

int main() {
    coven::run(slow_echo("sync > DELAY(.5)", 0.5)); // blocks for half a second

    {
        coven::async_scope scope;
        scope.spawn(slow_echo("scope > DELAY(.2)", .2));
        scope.spawn(slow_echo("scope > DELAY(.1)", .1));
    } // implicit await :)
    return 0;
}
