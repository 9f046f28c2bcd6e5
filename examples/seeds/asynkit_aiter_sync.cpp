// asynkit, "aiter_sync()": an async generator iterated from synchronous code, with no loop.
// (The seed asserts [1, 2, 3] for range(3), which yields 0, 1 and 2; this prints what the
// generator really yields.)
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto agen() -> coven::async_generator<int> {
    for (int v = 0; v < 3; ++v) {
        co_yield v;
    }
}

int main() {
    std::string list = "[";
    for (int v : coven::aiter_sync(agen())) {
        list += (list.size() > 1 ? ", " : "") + std::to_string(v);
    }
    std::cout << list << "]" << std::endl;
    return 0;
}
