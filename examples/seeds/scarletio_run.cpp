// scarletio, "Running coroutines": coven::run() gets or creates a loop, runs the entry point to
// completion and stops the loop it created.
#include <coven/coven.hpp>

#include <iostream>

auto amain() -> coven::task<void> {
    std::cout << "hello" << std::endl;
    co_await coven::sleep(1.0);
    std::cout << "world" << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
