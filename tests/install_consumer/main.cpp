#include <coven/coven.hpp>

#include <iostream>

auto answer() -> coven::task<int> {
    co_await coven::sleep(0.001);
    co_return 42;
}

int main() {
    std::cout << coven::run(answer()) << "\n";
}
