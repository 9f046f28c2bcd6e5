// async-tamer, "Exception Management": a tamed function's failure reaches its caller like any
// function's: where it is awaited, where it is called from synchronous code, and, for a call
// scheduled into a scope, where its result is waited for (block() or co_await).
#include <coven/coven.hpp>

#include <iostream>
#include <stdexcept>

const coven::tamed faulty_function = []() -> coven::task<void> {
    throw std::runtime_error("Oh no!");
    co_return;
};

auto amain() -> coven::task<void> {
    auto coro = faulty_function();
    try {
        co_await std::move(coro);
    } catch (const std::runtime_error&) {
        std::cout << "Actually, I'm good." << std::endl;
    }
}

int main() {
    // Asynchronous execution
    coven::run(amain());

    // Synchronous execution
    try {
        faulty_function();
    } catch (const std::runtime_error&) {
        std::cout << "Actually, I'm good." << std::endl;
    }

    // AsyncScope execution
    {
        coven::async_scope scope;
        auto delayed_result = faulty_function(coven::in_scope(scope));
        try {
            delayed_result.block();
        } catch (const std::runtime_error&) {
            std::cout << "Actually, I'm good." << std::endl;
        }
    }
    return 0;
}
