// async-tamer, "The @tamed decorator" (synchronous execution): from synchronous code each call
// blocks until it is done, one after the other.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
};

int main() {
    slow_echo("sync > DELAY(1)", 1);
    slow_echo("sync > DELAY(.1)", 0.1);
    slow_echo("sync > DELAY(.5)", 0.5);
    return 0;
}
