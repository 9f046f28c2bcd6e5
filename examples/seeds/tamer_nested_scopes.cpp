// async-tamer, "The AsyncScope" (nesting): the outer scope's functions run on while the inner
// scope is waited for; what is scheduled after the inner scope starts after all of its functions
// have ended.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto slow_echo(std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
}

int main() {
    {
        coven::async_scope outer_scope;
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(1.5)", 1.5));
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(1)", 1));
        {
            coven::async_scope inner_scope;
            inner_scope.spawn(slow_echo("Outer Scope > Inner Scope > DELAY(2)", 2));
            inner_scope.spawn(slow_echo("Outer Scope > Inner Scope > DELAY(1)", 1));
        } // await inner_scope functions
        // Note: scheduled after inner scope has finished
        outer_scope.spawn(slow_echo("Outer Scope > DELAY(.5)", 0.5));
    }
    return 0;
}
