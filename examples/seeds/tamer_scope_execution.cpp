// async-tamer, "The @tamed decorator" (AsyncScope execution): three calls scheduled into one
// scope run concurrently; they print in the order their delays end, and the scope's end waits
// for all of them.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
};

int main() {
    {
        coven::async_scope scope;
        slow_echo("scope > DELAY(1)", 1, coven::in_scope(scope));
        slow_echo("scope > DELAY(.1)", 0.1, coven::in_scope(scope));
        slow_echo("scope > DELAY(.5)", 0.5, coven::in_scope(scope));
    }
    return 0;
}
