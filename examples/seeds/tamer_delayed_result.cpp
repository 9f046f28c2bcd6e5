// async-tamer, "DelayedResult": a delayed_result is a value that arrives late. It can be passed
// to another scheduled call, which awaits it; value() before it arrives throws not_ready_error;
// block() waits for it in synchronous code.
#include <coven/coven.hpp>

#include <iostream>
#include <string>
#include <utility>

using response = std::pair<int, std::string>;

const coven::tamed request = [](double delay) -> coven::task<response> {
    co_await coven::sleep(delay);
    co_return response{200, "You are awesome!"};
};

const coven::tamed post_process =
    [](coven::delayed_result<response> raw_result) -> coven::task<response> {
    auto [ret_code, msg] = co_await raw_result; // <-- awaitable in async context
    auto space = msg.rfind(' ');
    co_return response{ret_code, msg.substr(0, space) + " very" + msg.substr(space)};
};

int main() {
    coven::async_scope scope;
    auto raw_result = request(0.1, coven::in_scope(scope));
    auto result = post_process(raw_result, coven::in_scope(scope)); // <-- pass it around
    try {
        auto [return_code, msg] = result.value();
    } catch (const coven::not_ready_error&) { // <-- not arrived yet
        std::cout << "scope > result: Not yet available." << std::endl;
    }
    result.block(); // <-- block in sync context
    auto [return_code, msg] = result.value();
    std::cout << "scope > result: Status " << return_code << ": `" << msg << "`" << std::endl;
    return 0;
}
