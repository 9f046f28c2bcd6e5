// async-tamer, "AsyncScope Execution": three functions scheduled into one scope run
// concurrently; they print in the order their delays end, and the scope's end waits for all.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto slow_echo(std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
}

int main() {
    {
        coven::async_scope scope;
        scope.spawn(slow_echo("scope > DELAY(1)", 1));
        scope.spawn(slow_echo("scope > DELAY(.1)", 0.1));
        scope.spawn(slow_echo("scope > DELAY(.5)", 0.5));
    }
    return 0;
}
