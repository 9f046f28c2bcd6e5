// async-tamer, "Exception Management": a failure of a scheduled function is raised where its
// result is waited for (block() or co_await), and can be handled there.
#include <coven/coven.hpp>

#include <iostream>
#include <stdexcept>

auto faulty_function() -> coven::task<void> {
    throw std::runtime_error("Oh no!");
    co_return;
}

int main() {
    coven::async_scope scope;
    auto delayed_result = scope.spawn(faulty_function());
    try {
        delayed_result.block();
    } catch (const std::runtime_error&) {
        std::cout << "Actually, I'm good." << std::endl;
    }
    return 0;
}
