// async-tamer, "The AsyncScope" (nesting): the outer scope's calls run on while the inner scope
// is waited for; what is scheduled after the inner scope starts after all of its calls have
// ended.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
};

int main() {
    {
        coven::async_scope outer_scope;
        slow_echo("Outer Scope > DELAY(1.5)", 1.5, coven::in_scope(outer_scope));
        slow_echo("Outer Scope > DELAY(1)", 1, coven::in_scope(outer_scope));
        {
            coven::async_scope inner_scope;
            slow_echo("Outer Scope > Inner Scope > DELAY(2)", 2, coven::in_scope(inner_scope));
            slow_echo("Outer Scope > Inner Scope > DELAY(1)", 1, coven::in_scope(inner_scope));
        } // await inner_scope calls
        // Note: scheduled after inner scope has finished
        slow_echo("Outer Scope > DELAY(.5)", 0.5, coven::in_scope(outer_scope));
    }
    return 0;
}
