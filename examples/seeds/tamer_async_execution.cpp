// async-tamer, "The @tamed decorator" (asynchronous execution): from a coroutine a tamed
// function is an ordinary awaitable call. A call starts when it is awaited; gather() runs
// several at once.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::tamed slow_echo = [](std::string msg, double delay) -> coven::task<void> {
    co_await coven::sleep(delay);
    std::cout << msg << std::endl;
};

auto amain() -> coven::task<void> {
    auto first = slow_echo("async > DELAY(1)", 1);
    auto second = slow_echo("async > DELAY(.1)", 0.1);
    auto third = slow_echo("async > DELAY(.5)", 0.5);
    // Don't forget the co_await!
    co_await std::move(second);
    co_await coven::gather(std::move(first), std::move(third));
}

int main() {
    coven::run(amain());
    return 0;
}
