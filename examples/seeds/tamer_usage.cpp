// async-tamer, "Usage": a tamed function called from synchronous code blocks until it is done;
// given a scope (the seed's `_async_scope=scope`, here coven::in_scope(scope)), it is scheduled
// there, and the scope's end waits for everything in it.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay); // ^ notice the wrapper
    std::cout << msg << std::endl;
};

int main() {
    slow_echo("sync > DELAY(.5)", 0.5);

    {
        coven::async_scope scope;
        slow_echo("scope > DELAY(.2)", .2, coven::in_scope(scope));
        slow_echo("scope > DELAY(.1)", .1, coven::in_scope(scope));
    } // implicit await :)
    return 0;
}
