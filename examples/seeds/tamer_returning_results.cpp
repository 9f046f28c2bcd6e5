// async-tamer, "Returning Results": a function scheduled into a scope returns a delayed_result at
// once; after the scope's end its value() is there.
#include <coven/coven.hpp>

#include <iostream>
#include <string>
#include <utility>

using response = std::pair<int, std::string>;

auto slow_io() -> coven::task<response> {
    co_await coven::sleep(0.1);
    co_return response{200, "Time to be awesome!"};
}

int main() {
    coven::delayed_result<response> delayed_result;
    {
        coven::async_scope scope;
        delayed_result = scope.spawn(slow_io());
    } // <-- implicit await on exit
    auto [return_code, msg] = delayed_result.value();
    std::cout << "Status " << return_code << ": `" << msg << "`" << std::endl;
    return 0;
}
