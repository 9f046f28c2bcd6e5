// asynkit, "syncfunction()": an async function wrapped to run through await_sync(), so that
// synchronous code calls it directly.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

const coven::sync_function sync_function = []() -> coven::task<std::string> {
    auto async_function = []() -> coven::task<std::string> { co_return "look, no async!"; };
    co_return co_await async_function();
};

int main() {
    std::cout << sync_function() << std::endl;
    return 0;
}
