// async-tamer, "Returning Results": a tamed function hands its result back the way its caller
// expects: awaited in a coroutine, returned at once in synchronous code, and as a
// delayed_result, whose value() is there after the scope's end, when scheduled into a scope.
#include <coven/coven.hpp>

#include <iostream>
#include <string>
#include <utility>

using response = std::pair<int, std::string>;

const coven::tamed slow_io = []() -> coven::task<response> {
    co_await coven::sleep(0.1);
    co_return response{200, "Time to be awesome!"};
};

auto amain() -> coven::task<void> {
    auto coro = slow_io();                              // <-- a call, not started yet
    auto [return_code, msg] = co_await std::move(coro); // <-- await the result
    std::cout << "Status " << return_code << ": `" << msg << "`" << std::endl;
}

int main() {
    // Asynchronous execution
    coven::run(amain());

    // Synchronous execution
    {
        auto [return_code, msg] = slow_io().get(); // <-- immediate result
        std::cout << "Status " << return_code << ": `" << msg << "`" << std::endl;
    }

    // AsyncScope execution
    coven::delayed_result<response> delayed_result;
    {
        coven::async_scope scope;
        delayed_result = slow_io(coven::in_scope(scope));
    } // <-- implicit await on exit
    auto [return_code, msg] = delayed_result.value();
    std::cout << "Status " << return_code << ": `" << msg << "`" << std::endl;
    return 0;
}
